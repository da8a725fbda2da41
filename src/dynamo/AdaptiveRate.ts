/**
 * How fast to write, learned from what the table accepts. A send rate (items per second, every
 * call counted, retries too) and two meters over a sliding two-second window: items sent and
 * items the table accepted (the delivery rate, as BBR measures a link's). A push-back (a
 * throttling error or UnprocessedItems) is congestion only when the accepted rate stopped rising
 * with the send rate: when the share accepted is lower than it was at lower send rates. A table at
 * its capacity answers so (the more is sent, the smaller the share it takes); a table that
 * throttles at random whatever the rate (while it splits partitions, or a neighbour on a shared
 * table) accepts the same share at any rate, and slowing down would only make the load slower.
 *
 * On congestion the rate is cut to `beta` times what the table accepted, returns to that within a
 * fraction of a second (doubling every `recoveryMs`), then probes past it on a cubic curve (CUBIC,
 * as the SDK's adaptive retry mode and TCP use: flows that share a table converge to a share of it
 * without talking to each other). A push-back that is not congestion raises the rate to probe
 * above what is sent. The calls kept in flight follow the rate, so at most about
 * `inFlightSeconds` of writes are queued: a deadline never waits long for a throttled window.
 */
export interface AdaptiveRateOptions {
  /** Calls in flight at most: WRITE_CONCURRENCY. */
  maxInFlight: number;
  /** Items per call when the batch is full (25), to turn a rate into calls in flight. */
  itemsPerCall: number;
  /** Seconds of writes at the current rate that may be queued or in flight. */
  inFlightSeconds?: number;
  /** The share of the rate kept after a push-back. */
  beta?: number;
  /** CUBIC's scaling constant, in items/s per s³. */
  cubicC?: number;
  /** After a cut the rate doubles every this many ms until it is back where it was cut. */
  recoveryMs?: number;
  /**
   * The rate never falls below this (items/s; default one full call a second): a table slower
   * than that still accepts part of each call, so the floor costs no rejections, and a table
   * that accepts nothing is asked once a second.
   */
  minRate?: number;
  /** How much (ms of the rate) a sender that was idle may send at once. */
  burstMs?: number;
  /** A rate learned before (an earlier part of the same file): start there instead of open. */
  initialRate?: number | undefined;
  now?: () => number;
}

/** One BatchWriteItem call's answer, as the controller needs it. */
export interface CallOutcome {
  sent: number;
  accepted: number;
  /** When the call was sent (the controller's clock): answers to calls sent before a cut are not cut again. */
  sentAt: number;
}

/** Slots of the meters: 20 × 100 ms, a two-second sliding window (at 25 items/s a one-second
 * window would see one call, or none). */
const SLOT_MS = 100;
const SLOTS = 20;
/** A push-back is noise while the table accepts at least 1 / TOLERANCE of what is sent. */
const TOLERANCE = 1.1;
/** Samples of the window (send rate, share accepted) kept: one a slot, 15 s. */
const HISTORY = 150;
/** A sample is at a rate like the one now up to this multiple of it. */
const SIMILAR = 1.1;
/** Calls answered before slow start may end. */
const SLOW_START_CALLS = 4;
/** A push-back that is not congestion lets the rate probe this far above what is sent… */
const PROBE = 1.25;
/** …at most once per this many ms. */
const PROBE_MS = 100;

export class AdaptiveRate {
  /** Items per second; Infinity until the table first pushes back. */
  private limit = Number.POSITIVE_INFINITY;
  /** The rate at the last push-back (CUBIC's W_max), and when it happened. */
  private lastMax = 0;
  private lastCutAt = Number.NEGATIVE_INFINITY;
  private lastProbeAt = Number.NEGATIVE_INFINITY;
  private cubicK = 0;
  /** The sender's own token bucket at the current rate (negative: in debt). */
  private tokens = 0;
  private refilledAt: number;
  private readonly acceptedSlots = new Array<number>(SLOTS).fill(0);
  private readonly sentSlots = new Array<number>(SLOTS).fill(0);
  private readonly callSlots = new Array<number>(SLOTS).fill(0);
  private slotIndex = 0;
  private slotStart: number;
  /** Per slot, the window's send rate and share accepted (a ring; NaN: no sample). */
  private readonly sampledRate = new Array<number>(HISTORY).fill(Number.NaN);
  private readonly sampledShare = new Array<number>(HISTORY).fill(Number.NaN);
  private sampleIndex = 0;
  private readonly startedAt: number;
  private readonly maxInFlight: number;
  private readonly itemsPerCall: number;
  private readonly inFlightSeconds: number;
  private readonly beta: number;
  private readonly cubicC: number;
  private readonly recoveryMs: number;
  private readonly minRate: number;
  private readonly burstMs: number;
  private readonly now: () => number;
  /** Calls in flight before the first push-back (slow start). */
  private openWindow = 2;
  /** How often the rate was cut. */
  public decreases = 0;
  /**
   * Whether the last push-back judged was random (the table took the same share at lower rates),
   * not the table at its capacity or its noise.
   */
  public randomPushBacks = false;

  public constructor(options: AdaptiveRateOptions) {
    this.maxInFlight = options.maxInFlight;
    this.itemsPerCall = options.itemsPerCall;
    this.inFlightSeconds = options.inFlightSeconds ?? 2;
    this.beta = options.beta ?? 0.8;
    this.cubicC = options.cubicC ?? 4;
    this.recoveryMs = options.recoveryMs ?? 500;
    this.minRate = options.minRate ?? 25;
    this.burstMs = options.burstMs ?? 100;
    this.now = options.now ?? (() => performance.now());
    this.startedAt = this.now();
    this.slotStart = this.startedAt;
    this.refilledAt = this.startedAt;
    if (options.initialRate !== undefined && Number.isFinite(options.initialRate)) {
      // Resume where an earlier part of the file left off, growing from there as after a cut.
      this.lastMax = Math.max(this.minRate, options.initialRate);
      this.limit = this.lastMax;
      this.lastCutAt = this.startedAt;
      this.cubicK = 0;
    }
  }

  /** The current send rate in items per second (Infinity: not limited yet). */
  public rate(now = this.now()): number {
    if (!Number.isFinite(this.limit)) return this.limit;
    const t = (now - this.lastCutAt) / 1000;
    const cubic = this.lastMax + this.cubicC * (t - this.cubicK) ** 3;
    // Multiplicative recovery to the rate of the last cut, not one step per clean window.
    const recovered = Math.min(this.lastMax, this.limit * 2 ** ((t * 1000) / this.recoveryMs));
    return Math.max(this.minRate, this.limit, recovered, cubic);
  }

  /**
   * Whether items a call handed back should go out again in full calls with the next ones: the
   * push-backs are random and the calls in flight, not the rate, limit the writes (the window
   * holds calls, not items). At a table's capacity a small remainder fits what it has left.
   */
  public fullCallsPay(now = this.now()): boolean {
    return this.randomPushBacks && this.inFlight(now) >= this.maxInFlight;
  }

  /** Calls that may be in flight (or waiting for their turn) now. */
  public inFlight(now = this.now()): number {
    const rate = this.rate(now);
    if (!Number.isFinite(rate)) return Math.min(this.maxInFlight, this.openWindow);
    const calls = Math.ceil((rate * this.inFlightSeconds) / this.itemsPerCall);
    return Math.min(this.maxInFlight, Math.max(1, calls));
  }

  /**
   * Asks to send `items` now. Returns 0 and books them when the sender's bucket is not in debt,
   * or the ms to wait before asking again (an estimate: the rate may grow meanwhile). A call may
   * take the bucket into debt, so a 25-item call goes through even at a rate of a few items/s.
   */
  public reserve(items: number, now = this.now()): number {
    this.refill(now);
    const rate = this.rate(now);
    if (!Number.isFinite(rate)) return 0;
    if (this.tokens >= 0) {
      this.tokens -= items;
      return 0;
    }
    return Math.max(1, Math.ceil((-this.tokens * 1000) / rate));
  }

  private refill(now: number): void {
    const rate = this.rate(now);
    if (Number.isFinite(rate)) {
      const ceiling = (rate * this.burstMs) / 1000;
      this.tokens = Math.min(ceiling, this.tokens + (rate * (now - this.refilledAt)) / 1000);
    }
    this.refilledAt = now;
  }

  /**
   * The pace (items/s) at which what is queued now can be expected to be accepted: what the
   * table accepted over the last two seconds, no more than the send rate, no less than the floor.
   */
  public pace(now = this.now()): number {
    const measured = this.measuredRate(now);
    const rate = this.rate(now);
    return Math.max(this.minRate, Number.isFinite(rate) ? Math.min(rate, measured) : measured);
  }

  /** Items the table accepted per second over the last two seconds. */
  public measuredRate(now = this.now()): number {
    this.advance(now);
    return this.perSecond(this.acceptedSlots, now);
  }

  /** Items sent per second (retries included) over the last two seconds. */
  public sentRate(now = this.now()): number {
    this.advance(now);
    return this.perSecond(this.sentSlots, now);
  }

  private perSecond(slots: number[], now: number): number {
    const span = Math.min(SLOT_MS * SLOTS, Math.max(SLOT_MS, now - this.startedAt));
    let sum = 0;
    for (const slot of slots) sum += slot;
    return (sum * 1000) / span;
  }

  /** Learns from one call: congestion cuts the rate once per round of calls, else it may grow. */
  public onOutcome(outcome: CallOutcome, now = this.now()): void {
    this.advance(now);
    this.acceptedSlots[this.slotIndex] =
      (this.acceptedSlots[this.slotIndex] ?? 0) + outcome.accepted;
    this.sentSlots[this.slotIndex] = (this.sentSlots[this.slotIndex] ?? 0) + outcome.sent;
    this.callSlots[this.slotIndex] = (this.callSlots[this.slotIndex] ?? 0) + 1;
    // Before the first cut the window opens by one call per call accepted (doubling each round,
    // TCP's slow start), so the first burst against a slow table is a couple of calls, not all.
    if (outcome.accepted >= outcome.sent) {
      if (this.openWindow < this.maxInFlight) this.openWindow++;
      return;
    }
    // Calls already in flight when the rate was cut tell nothing new about the new rate.
    if (outcome.sentAt < this.lastCutAt) return;
    const current = this.rate(now);
    const measured = this.measuredRate(now);
    const sent = this.sentRate(now);
    const share = sent > 0 ? Math.min(1, measured / sent) : 0;
    // Slow start keeps two calls in flight: the first push-back ends it once a few calls tell
    // what the table accepts, not on the first answer (one call in three is throttled at random).
    if (!Number.isFinite(current) && this.callsInWindow() < SLOW_START_CALLS) return;
    // A table answers in part even below its pace: its bucket fills continuously, calls take 25
    // units at once, and just after a cut it is still empty. While it accepts about as much as
    // we send, a push-back is that noise and no reason to slow down further.
    this.randomPushBacks = false;
    if (Number.isFinite(current) && share * TOLERANCE >= 1) return;
    if (this.rateIndependent(sent, share)) {
      this.randomPushBacks = true;
      this.probe(now, current, sent);
      return;
    }
    this.refill(now);
    const base = Math.max(this.minRate, Math.min(current, measured));
    this.lastMax = base;
    this.limit = Math.max(this.minRate, base * this.beta);
    this.cubicK = Math.cbrt((base * (1 - this.beta)) / this.cubicC);
    this.lastCutAt = now;
    this.decreases++;
  }

  /**
   * Whether the table accepted as large a share at send rates like this one or lower (over the
   * last 15 s) as it does now: the accepted rate still rises with the send rate, so the
   * push-backs are not caused by it. The share of a window of few calls is noisy: the fewer
   * calls, the larger the drop that counts. Without a sample at such a rate there is no evidence.
   */
  private rateIndependent(sent: number, share: number): boolean {
    let sum = 0;
    let count = 0;
    for (let i = 0; i < HISTORY; i++) {
      if (!((this.sampledRate[i] as number) <= sent * SIMILAR)) continue;
      sum += this.sampledShare[i] as number;
      count++;
    }
    const calls = this.callsInWindow();
    const tolerance = TOLERANCE + 0.5 / Math.sqrt(Math.max(1, calls));
    // A table that accepts nothing is not throttling at random: it is full (or down).
    return count > 0 && share > 0 && share * tolerance >= sum / count;
  }

  private callsInWindow(): number {
    let calls = 0;
    for (const slot of this.callSlots) calls += slot;
    return calls;
  }

  /** Lets the rate grow above what is sent: multiplicatively, at most once per PROBE_MS. */
  private probe(now: number, current: number, sent: number): void {
    if (!Number.isFinite(current) || now - this.lastProbeAt < PROBE_MS) return;
    this.lastProbeAt = now;
    const target = Math.min(PROBE * Math.max(sent, current), 4 * PROBE * sent);
    if (target > this.lastMax) this.lastMax = target;
  }

  private advance(now: number): void {
    while (now - this.slotStart >= SLOT_MS) {
      this.sample(now);
      this.slotStart += SLOT_MS;
      this.slotIndex = (this.slotIndex + 1) % SLOTS;
      this.acceptedSlots[this.slotIndex] = 0;
      this.sentSlots[this.slotIndex] = 0;
      this.callSlots[this.slotIndex] = 0;
      // A long idle gap: every slot is stale.
      if (now - this.slotStart > SLOT_MS * SLOTS) {
        this.acceptedSlots.fill(0);
        this.sentSlots.fill(0);
        this.callSlots.fill(0);
        this.slotStart = now;
      }
    }
  }

  /** Records the window's send rate and share accepted as a slot closes. */
  private sample(now: number): void {
    const end = Math.min(now, this.slotStart + SLOT_MS);
    const sent = this.perSecond(this.sentSlots, end);
    if (sent <= 0) return;
    this.sampledRate[this.sampleIndex] = sent;
    this.sampledShare[this.sampleIndex] = Math.min(
      1,
      this.perSecond(this.acceptedSlots, end) / sent,
    );
    this.sampleIndex = (this.sampleIndex + 1) % HISTORY;
  }
}

/**
 * How fast to write, learned from what the table answers. A send rate (items per second) with
 * multiplicative decrease when the table pushes back (a throttling error or UnprocessedItems) and
 * a cubic increase back towards, then past, the rate at which it pushed back (CUBIC, as the SDK's
 * adaptive retry mode and TCP use: it returns to the old rate in the same few seconds at any
 * scale, and flows that share a table converge to a share of it without talking to each other).
 * The calls kept in flight follow the rate, so at most about `inFlightSeconds` of writes are
 * queued: a deadline never waits long for a throttled window to drain.
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

/** Slots of the accepted-items meter: 20 × 100 ms, a two-second sliding window (at 25 items/s a
 * one-second window would see one call, or none). */
const SLOT_MS = 100;
/** A push-back only cuts the rate when we send more than this times what the table accepts. */
const TOLERANCE = 1.1;
const SLOTS = 20;

export class AdaptiveRate {
  /** Items per second; Infinity until the table first pushes back. */
  private limit = Number.POSITIVE_INFINITY;
  /** The rate at the last push-back (CUBIC's W_max), and when it happened. */
  private lastMax = 0;
  private lastCutAt = Number.NEGATIVE_INFINITY;
  private cubicK = 0;
  /** The sender's own token bucket at the current rate (negative: in debt). */
  private tokens = 0;
  private refilledAt: number;
  private readonly slots = new Array<number>(SLOTS).fill(0);
  private slotIndex = 0;
  private slotStart: number;
  private readonly startedAt: number;
  private readonly maxInFlight: number;
  private readonly itemsPerCall: number;
  private readonly inFlightSeconds: number;
  private readonly beta: number;
  private readonly cubicC: number;
  private readonly minRate: number;
  private readonly burstMs: number;
  private readonly now: () => number;
  /** Calls in flight before the first push-back (slow start). */
  private openWindow = 2;
  /** How often the rate was cut. */
  public decreases = 0;

  public constructor(options: AdaptiveRateOptions) {
    this.maxInFlight = options.maxInFlight;
    this.itemsPerCall = options.itemsPerCall;
    this.inFlightSeconds = options.inFlightSeconds ?? 2;
    this.beta = options.beta ?? 0.8;
    this.cubicC = options.cubicC ?? 4;
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
    return Math.max(this.minRate, this.limit, cubic);
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
    const span = Math.min(SLOT_MS * SLOTS, Math.max(SLOT_MS, now - this.startedAt));
    let sum = 0;
    for (const slot of this.slots) sum += slot;
    return (sum * 1000) / span;
  }

  /** Learns from one call: a push-back cuts the rate once per round of calls, success lets it grow. */
  public onOutcome(outcome: CallOutcome, now = this.now()): void {
    this.advance(now);
    this.slots[this.slotIndex] = (this.slots[this.slotIndex] ?? 0) + outcome.accepted;
    // Growth is a function of the time since the last cut; before the first cut the window opens
    // by one call per call accepted (doubling each round, TCP's slow start), so the first burst
    // against a slow table is a couple of calls, not the whole window.
    if (outcome.accepted >= outcome.sent) {
      if (this.openWindow < this.maxInFlight) this.openWindow++;
      return;
    }
    // Calls already in flight when the rate was cut tell nothing new about the new rate.
    if (outcome.sentAt < this.lastCutAt) return;
    const current = this.rate(now);
    const measured = this.measuredRate(now);
    // A table answers in part even below its pace: its bucket fills continuously, calls take 25
    // units at once, and just after a cut it is still empty. While it accepts about as much as
    // we send, a push-back is that noise and no reason to slow down further.
    if (Number.isFinite(current) && current <= measured * TOLERANCE) return;
    this.refill(now);
    const base = Math.max(this.minRate, Math.min(current, measured));
    this.lastMax = base;
    this.limit = Math.max(this.minRate, base * this.beta);
    this.cubicK = Math.cbrt((base * (1 - this.beta)) / this.cubicC);
    this.lastCutAt = now;
    this.decreases++;
  }

  private advance(now: number): void {
    while (now - this.slotStart >= SLOT_MS) {
      this.slotStart += SLOT_MS;
      this.slotIndex = (this.slotIndex + 1) % SLOTS;
      this.slots[this.slotIndex] = 0;
      // A long idle gap: every slot is stale.
      if (now - this.slotStart > SLOT_MS * SLOTS) {
        this.slots.fill(0);
        this.slotStart = now;
      }
    }
  }
}

import { describe, expect, it } from 'vitest';
import { AdaptiveRate, type AdaptiveRateOptions } from '../../../src/dynamo/AdaptiveRate.ts';
import { seededRandom } from '../../support/faults.ts';

/** A controller on a clock the test moves by hand. */
function controller(options: Partial<AdaptiveRateOptions> = {}) {
  const clock = { now: 0 };
  const rate = new AdaptiveRate({
    maxInFlight: 16,
    itemsPerCall: 25,
    now: () => clock.now,
    ...options,
  });
  return { rate, clock };
}

/** What a table does with one call of `items` at `t` ms: the items it accepts. */
type Table = (items: number, t: number) => number;

/** A table that accepts `capacity` items/s (a token bucket holding one second's worth). */
function capacityTable(capacity: number): Table {
  let tokens = capacity;
  let last = 0;
  return (items, t) => {
    tokens = Math.min(capacity, tokens + ((t - last) * capacity) / 1000);
    last = t;
    const took = Math.min(items, Math.floor(tokens));
    tokens -= took;
    return took;
  };
}

/**
 * A table that throttles at random whatever the rate: `throttled` of the calls rejected whole,
 * `halved` of them half unprocessed (seeded, so every run sees the same faults).
 */
function randomFaultTable(throttled: number, halved: number, seed = 17): Table {
  const random = seededRandom(seed);
  return (items) => {
    const roll = random();
    if (roll < throttled) return 0;
    if (roll < throttled + halved && items > 1) return Math.ceil(items / 2);
    return items;
  };
}

/**
 * Drives the controller as the writer does, with work always queued, against `table` for
 * `seconds`: up to `maxInFlight` calls in flight, each answered `roundTripMs` after it is sent,
 * a call's unprocessed items sent again as the next call.
 */
function simulate(
  table: Table,
  seconds: number,
  { senders = 1, roundTripMs = 1, maxInFlight = 16 } = {},
) {
  const clock = { now: 0 };
  const rates = Array.from(
    { length: senders },
    () => new AdaptiveRate({ maxInFlight, itemsPerCall: 25, now: () => clock.now }),
  );
  let accepted = 0;
  let calls = 0;
  let rejected = 0;
  const nextAt = rates.map(() => 0);
  const acceptedBy = rates.map(() => 0);
  /** Per sender, the calls in flight: when each is answered, and what it carries. */
  const flying = rates.map(() => [] as { at: number; sentAt: number; items: number }[]);
  const retry = rates.map(() => [] as number[]);
  let lowest = Number.POSITIVE_INFINITY;
  let pushBacks = 0;
  let fullCalls = 0;
  const bySecond: number[] = [];
  for (let t = 0; t < seconds * 1000; t++) {
    clock.now = t;
    rates.forEach((rate, i) => {
      const mine = flying[i] ?? [];
      const again = retry[i] ?? [];
      for (const call of mine.filter((c) => c.at <= t)) {
        mine.splice(mine.indexOf(call), 1);
        const took = table(call.items, call.sentAt);
        if (took === 0) rejected++;
        accepted += took;
        acceptedBy[i] = (acceptedBy[i] ?? 0) + took;
        rate.onOutcome({ sent: call.items, accepted: took, sentAt: call.sentAt });
        if (took < call.items) {
          again.push(call.items - took);
          pushBacks++;
          if (rate.fullCallsPay()) fullCalls++;
        }
      }
      if (t >= 5_000) lowest = Math.min(lowest, rate.rate());
      if (i === 0 && t % 1000 === 0) bySecond.push(rate.rate());
      while (mine.length < rate.inFlight() && (nextAt[i] ?? 0) <= t) {
        const items = again.shift() ?? 25;
        // Not yet: ask again after the wait (or a quarter second, as the writer does).
        const wait = rate.reserve(items);
        if (wait > 0) {
          again.unshift(items);
          nextAt[i] = t + Math.min(wait, 250);
          break;
        }
        calls++;
        mine.push({ at: t + roundTripMs, sentAt: t, items });
      }
    });
  }
  return {
    /** Items accepted per second. */
    throughput: accepted / seconds,
    rejectedShare: rejected / calls,
    acceptedBy,
    /** The lowest send rate after the first five seconds. */
    lowest,
    decreases: rates.reduce((sum, rate) => sum + rate.decreases, 0),
    /** The first sender's rate at 0 s, 1 s, 2 s… */
    bySecond,
    /** Share of push-backs after which items handed back would go out in full calls. */
    fullCallsShare: fullCalls / Math.max(1, pushBacks),
  };
}

describe('Class: AdaptiveRate', () => {
  describe('Method: rate / inFlight', () => {
    it('does not pace before the first push-back, and opens the window one call per accepted call', () => {
      // Prepare
      const { rate } = controller();
      const before = rate.inFlight();

      // Act
      for (let i = 0; i < 30; i++) rate.onOutcome({ sent: 25, accepted: 25, sentAt: 0 });

      // Assess
      expect(before).toBe(2);
      expect(rate.rate()).toBe(Number.POSITIVE_INFINITY);
      expect(rate.inFlight()).toBe(16);
      expect(rate.reserve(25)).toBe(0);
      expect(rate.decreases).toBe(0);
    });

    it('starts from a rate learned before (an earlier part of the file) and grows from there', () => {
      // Prepare
      const { rate, clock } = controller({ initialRate: 40 });

      // Act
      const start = rate.rate();
      clock.now = 3_000;

      // Assess
      expect(start).toBe(40);
      expect(rate.inFlight(0)).toBe(4);
      expect(rate.rate()).toBeGreaterThan(40);
    });

    it('cuts the rate to beta times what the table accepted when the share it accepts falls as more is sent', () => {
      // Prepare: 1,000 items sent and accepted over the last second
      const { rate, clock } = controller({ beta: 0.8 });
      for (let t = 0; t < 1000; t += 25) {
        clock.now = t;
        rate.onOutcome({ sent: 25, accepted: 25, sentAt: t });
      }
      clock.now = 1000;

      // Act: half as much again sent at once, none of it accepted
      rate.onOutcome({ sent: 500, accepted: 0, sentAt: 1000 });

      // Assess: 1,000 items/s accepted, 80% of it kept
      expect(rate.rate()).toBeCloseTo(0.8 * 1000, 0);
      expect(rate.decreases).toBe(1);
      expect(rate.inFlight()).toBe(16);
    });

    it('does not cut when the table accepts the same share as at lower rates (faults at random)', () => {
      // Prepare: a rate learned before; the table takes about half of every call, at any rate
      const { rate, clock } = controller({ initialRate: 1_000 });
      let t = 0;
      for (; t < 4_000; t += 25) {
        clock.now = t;
        rate.onOutcome({ sent: 25, accepted: t % 50 === 0 ? 25 : 0, sentAt: t });
      }
      const before = rate.rate();
      const cuts = rate.decreases;

      // Act: twice as many calls, the same share accepted
      for (; t < 6_000; t += 12.5) {
        clock.now = t;
        rate.onOutcome({ sent: 25, accepted: t % 25 === 0 ? 25 : 0, sentAt: t });
      }

      // Assess: not cut while sending more, and it probes above what is sent
      expect(rate.decreases).toBe(cuts);
      expect(rate.rate()).toBeGreaterThan(before);
      expect(rate.rate()).toBeGreaterThan(rate.sentRate());
    });

    it('cuts once per round: answers to calls sent before the cut do not cut again', () => {
      // Prepare
      const { rate, clock } = controller();
      for (let t = 0; t < 1000; t += 25) {
        clock.now = t;
        rate.onOutcome({ sent: 25, accepted: 25, sentAt: t });
      }
      clock.now = 1000;
      rate.onOutcome({ sent: 500, accepted: 0, sentAt: 990 });
      const afterFirst = rate.rate();

      // Act: more of the window that was in flight comes back throttled
      clock.now = 1005;
      rate.onOutcome({ sent: 25, accepted: 0, sentAt: 995 });
      rate.onOutcome({ sent: 25, accepted: 0, sentAt: 999 });

      // Assess
      expect(rate.decreases).toBe(1);
      expect(rate.rate()).toBeGreaterThanOrEqual(afterFirst);
    });

    it('returns to the rate of the last cut within a quarter second, then probes past it', () => {
      // Prepare: cut from 1,000 to 800 items/s at 1 s
      const { rate, clock } = controller({ beta: 0.8, cubicC: 4, recoveryMs: 500 });
      for (let t = 0; t < 1000; t += 25) {
        clock.now = t;
        rate.onOutcome({ sent: 25, accepted: 25, sentAt: t });
      }
      clock.now = 1000;
      rate.onOutcome({ sent: 500, accepted: 0, sentAt: 1000 });
      const cut = rate.rate();
      const k = Math.cbrt((1000 * 0.2) / 4);

      // Act
      clock.now = 1_100;
      const soon = rate.rate();
      clock.now = 1_250;
      const quarter = rate.rate();
      clock.now = 1000 + (k + 3) * 1000;
      const after = rate.rate();

      // Assess: doubling every 500 ms up to the rate of the cut, the cubic curve past it
      expect(cut).toBeCloseTo(800, 0);
      expect(soon).toBeCloseTo(800 * 2 ** (100 / 500), 0);
      expect(quarter).toBeCloseTo(1000, 0);
      expect(after).toBeGreaterThan(1100);
    });

    it('keeps only about two seconds of writes in flight at a low rate', () => {
      // Prepare: a table that accepted 20 items in the last second, in four calls
      const { rate, clock } = controller();
      for (let t = 0; t < 1000; t += 250) {
        clock.now = t;
        rate.onOutcome({ sent: 5, accepted: 5, sentAt: t });
      }
      clock.now = 1000;

      // Act
      rate.onOutcome({ sent: 25, accepted: 0, sentAt: 1000 });

      // Assess: the floor, 25 items/s × 2 s = 50 items: two calls
      expect(rate.decreases).toBe(1);
      expect(rate.inFlight()).toBe(2);
    });

    it('never goes below the minimum rate, even when the table accepts nothing', () => {
      // Prepare
      const { rate, clock } = controller({ minRate: 1 });

      // Act
      for (let t = 0; t < 10_000; t += 100) {
        clock.now = t;
        rate.onOutcome({ sent: 25, accepted: 0, sentAt: t });
      }

      // Assess
      expect(rate.decreases).toBeGreaterThan(0);
      expect(rate.rate(clock.now)).toBeGreaterThanOrEqual(1);
      expect(rate.inFlight()).toBe(1);
    });
  });

  describe('Method: pace', () => {
    it('is what the table accepted lately, never more than the send rate nor less than the floor', () => {
      // Prepare: 100 items accepted over two seconds, then a cut to 0.8 × 50 = 40 items/s
      const { rate, clock } = controller({ cubicC: 1e-9, recoveryMs: 1e12 });
      const open = rate.pace();
      for (let t = 250; t < 2000; t += 500) {
        clock.now = t;
        rate.onOutcome({ sent: 25, accepted: 25, sentAt: t });
      }
      clock.now = 2000;
      rate.onOutcome({ sent: 100, accepted: 0, sentAt: 2000 });
      const cut = rate.pace();

      // Act: nothing accepted for three seconds
      clock.now = 5000;
      const idle = rate.pace();

      // Assess
      expect(open).toBe(25);
      expect(cut).toBeCloseTo(40, 0);
      expect(idle).toBe(25);
    });
  });

  describe('Method: reserve', () => {
    it('spaces calls at the current rate, letting one call run into debt', () => {
      // Prepare: cut to 0.8 × 50 = 40 items/s, growing (almost) not at all
      const { rate, clock } = controller({ cubicC: 1e-9, recoveryMs: 1e12 });
      clock.now = 2000;
      for (let i = 0; i < 4; i++) rate.onOutcome({ sent: 25, accepted: 25, sentAt: 0 });
      rate.onOutcome({ sent: 100, accepted: 0, sentAt: 2000 });

      // Act
      const first = rate.reserve(20);
      const second = rate.reserve(20);
      clock.now = 2000 + second;
      const third = rate.reserve(20);
      const fourth = rate.reserve(20);

      // Assess: 20 items at 40 items/s is half a second each
      expect(first).toBe(0);
      expect(second).toBe(500);
      expect(third).toBe(0);
      expect(fourth).toBe(500);
    });
  });

  describe('Against a token-bucket table (throttling that depends on the rate)', () => {
    it('settles at 90% or more of a 1,000 items/s table with at most 10% of calls rejected whole', () => {
      // Act
      const { throughput, rejectedShare } = simulate(capacityTable(1_000), 60);

      // Assess
      expect(throughput / 1_000).toBeGreaterThanOrEqual(0.9);
      expect(rejectedShare).toBeLessThanOrEqual(0.1);
    });

    it('settles at 90% or more of a 25 items/s table with at most 10% of calls rejected whole', () => {
      // Act
      const { throughput, rejectedShare } = simulate(capacityTable(25), 120);

      // Assess
      expect(throughput / 25).toBeGreaterThanOrEqual(0.9);
      expect(rejectedShare).toBeLessThanOrEqual(0.1);
    });

    it('settles at 90% or more of a 1,000 items/s table with calls that take 8 ms', () => {
      // Act
      const { throughput, rejectedShare } = simulate(capacityTable(1_000), 60, {
        roundTripMs: 8,
      });

      // Assess
      expect(throughput / 1_000).toBeGreaterThanOrEqual(0.9);
      expect(rejectedShare).toBeLessThanOrEqual(0.1);
    });

    it('lets three senders share one table without coordination, none starved', () => {
      // Act
      const { throughput, acceptedBy } = simulate(capacityTable(1_000), 120, { senders: 3 });

      // Assess
      expect(throughput / 1_000).toBeGreaterThanOrEqual(0.9);
      for (const share of acceptedBy) expect(share / (1_000 * 120)).toBeGreaterThan(0.15);
    });
  });

  describe('Against random faults (throttling that does not depend on the rate)', () => {
    // 30% of calls rejected whole, 30% half unprocessed: 55% of the items sent are accepted.
    // With 16 calls of 8 ms in flight, 16 × 25 / 0.008 × 0.55 = 27,500 items/s at most (less:
    // the items sent again go in smaller calls). Cutting on each push-back, the controller before
    // this one reached 0.05% of that, its floor of 25 items/s.
    const ceiling = ((16 * 25) / 0.008) * 0.55;
    const window = (16 * 25 * 1000) / 8;

    it('keeps the window full instead of collapsing to its floor', () => {
      // Act
      const { throughput, lowest, decreases, fullCallsShare } = simulate(
        randomFaultTable(0.3, 0.3),
        30,
        { roundTripMs: 8 },
      );

      // Assess: from 5 s on it never paces below what 16 calls in flight can carry, and the
      // items handed back would go out in full calls (the window limits it, the faults are random)
      expect(throughput / ceiling).toBeGreaterThanOrEqual(0.6);
      expect(fullCallsShare).toBeGreaterThanOrEqual(0.9);
      expect(lowest).toBeGreaterThan(window);
      expect(decreases).toBeLessThanOrEqual(10);
    });

    it('keeps its pace when calls take 1 ms, where the rate and not the window limits', () => {
      // Act
      const { throughput, lowest } = simulate(randomFaultTable(0.3, 0.3), 30);

      // Assess
      expect(throughput / (16 * 25 * 1000 * 0.55)).toBeGreaterThanOrEqual(0.6);
      expect(lowest).toBeGreaterThan(16 * 25 * 1000);
    });

    it('recovers multiplicatively after a throttling episode, not one call per clean window', () => {
      // Prepare: a table that rejects every call from 3 s to 5 s, and throttles at random besides
      const random = randomFaultTable(0.3, 0.3);
      const table: Table = (items, t) => (t >= 3_000 && t < 5_000 ? 0 : random(items, t));

      // Act
      const { bySecond } = simulate(table, 12, { roundTripMs: 8 });

      // Assess: slowed down in the episode, back above the window's rate 4 s after it
      expect(bySecond[5]).toBeLessThan(1_000);
      expect(bySecond[9]).toBeGreaterThan(window);
      expect(bySecond[11]).toBeGreaterThan(window);
    });
  });
});

import { describe, expect, it } from 'vitest';
import { AdaptiveRate, type AdaptiveRateOptions } from '../../../src/dynamo/AdaptiveRate.ts';

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

/**
 * Drives the controller against a table that accepts `capacity` items/s (a token bucket holding
 * one second's worth), as a sender with work always queued does, for `seconds`.
 */
function simulate(capacity: number, seconds: number, senders = 1) {
  const clock = { now: 0 };
  const rates = Array.from(
    { length: senders },
    () => new AdaptiveRate({ maxInFlight: 16, itemsPerCall: 25, now: () => clock.now }),
  );
  let tokens = capacity;
  let last = 0;
  let accepted = 0;
  let calls = 0;
  let rejected = 0;
  const nextAt = rates.map(() => 0);
  const acceptedBy = rates.map(() => 0);
  for (let t = 0; t < seconds * 1000; t++) {
    clock.now = t;
    tokens = Math.min(capacity, tokens + ((t - last) * capacity) / 1000);
    last = t;
    rates.forEach((rate, i) => {
      if ((nextAt[i] ?? 0) > t) return;
      // Not yet: ask again after the wait (or a quarter second, as the writer does).
      const wait = rate.reserve(25);
      if (wait > 0) {
        nextAt[i] = t + Math.min(wait, 250);
        return;
      }
      calls++;
      const took = Math.min(25, Math.floor(tokens));
      tokens -= took;
      if (took === 0) rejected++;
      accepted += took;
      acceptedBy[i] = (acceptedBy[i] ?? 0) + took;
      rate.onOutcome({ sent: 25, accepted: took, sentAt: t });
      nextAt[i] = t + 1;
    });
  }
  return { goodput: accepted / seconds / capacity, rejectedShare: rejected / calls, acceptedBy };
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

    it('cuts the rate to beta times what the table accepted when it answers with UnprocessedItems', () => {
      // Prepare: 1,000 items accepted over the last second
      const { rate, clock } = controller({ beta: 0.8 });
      for (let t = 0; t < 1000; t += 25) {
        clock.now = t;
        rate.onOutcome({ sent: 25, accepted: 25, sentAt: t });
      }
      clock.now = 1000;

      // Act
      rate.onOutcome({ sent: 25, accepted: 10, sentAt: 1000 });

      // Assess: about 1,010 items/s measured, 80% of it kept
      expect(rate.rate()).toBeCloseTo(0.8 * 1010, 0);
      expect(rate.decreases).toBe(1);
      expect(rate.inFlight()).toBe(16);
    });

    it('cuts once per round: answers to calls sent before the cut do not cut again', () => {
      // Prepare
      const { rate, clock } = controller();
      for (let t = 0; t < 1000; t += 25) {
        clock.now = t;
        rate.onOutcome({ sent: 25, accepted: 25, sentAt: t });
      }
      clock.now = 1000;
      rate.onOutcome({ sent: 25, accepted: 0, sentAt: 990 });
      const afterFirst = rate.rate();

      // Act: more of the window that was in flight comes back throttled
      clock.now = 1005;
      rate.onOutcome({ sent: 25, accepted: 0, sentAt: 995 });
      rate.onOutcome({ sent: 25, accepted: 0, sentAt: 999 });

      // Assess
      expect(rate.decreases).toBe(1);
      expect(rate.rate()).toBeGreaterThanOrEqual(afterFirst);
    });

    it('grows back to the rate of the last cut within a few seconds, then probes past it', () => {
      // Prepare
      const { rate, clock } = controller({ beta: 0.8, cubicC: 4 });
      for (let t = 0; t < 1000; t += 25) {
        clock.now = t;
        rate.onOutcome({ sent: 25, accepted: 25, sentAt: t });
      }
      clock.now = 1000;
      rate.onOutcome({ sent: 25, accepted: 0, sentAt: 1000 });
      const cut = rate.rate();
      const k = Math.cbrt((1000 * 0.2) / 4);

      // Act
      clock.now = 1000 + (k / 2) * 1000;
      const halfway = rate.rate();
      clock.now = 1000 + k * 1000;
      const atK = rate.rate();
      clock.now = 1000 + (k + 3) * 1000;
      const after = rate.rate();

      // Assess
      expect(halfway).toBeGreaterThan(cut);
      expect(halfway).toBeLessThan(1000);
      expect(atK).toBeCloseTo(1000, -1);
      expect(after).toBeGreaterThan(1100);
    });

    it('keeps only about two seconds of writes in flight at a low rate', () => {
      // Prepare: a table that accepted 25 items in the last second
      const { rate, clock } = controller();
      rate.onOutcome({ sent: 25, accepted: 25, sentAt: 0 });
      clock.now = 1000;

      // Act
      rate.onOutcome({ sent: 25, accepted: 0, sentAt: 1000 });

      // Assess: 0.8 × 25 items/s × 2 s = 40 items: two calls
      expect(rate.inFlight()).toBe(2);
    });

    it('never goes below the minimum rate, even when the table accepts nothing', () => {
      // Prepare
      const { rate, clock } = controller({ minRate: 1 });

      // Act
      for (let t = 0; t < 10; t++) {
        clock.now = t * 1000;
        rate.onOutcome({ sent: 25, accepted: 0, sentAt: t * 1000 });
      }

      // Assess
      expect(rate.rate(clock.now)).toBeGreaterThanOrEqual(1);
      expect(rate.inFlight()).toBe(1);
    });
  });

  describe('Method: pace', () => {
    it('is what the table accepted lately, never more than the send rate nor less than the floor', () => {
      // Prepare: 100 items accepted over two seconds, then a cut to 0.8 × 50 = 40 items/s
      const { rate, clock } = controller({ cubicC: 1e-9 });
      const open = rate.pace();
      for (let t = 250; t < 2000; t += 500) {
        clock.now = t;
        rate.onOutcome({ sent: 25, accepted: 25, sentAt: t });
      }
      clock.now = 2000;
      rate.onOutcome({ sent: 25, accepted: 0, sentAt: 2000 });
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
      const { rate, clock } = controller({ cubicC: 1e-9 });
      clock.now = 2000;
      rate.onOutcome({ sent: 100, accepted: 100, sentAt: 0 });
      rate.onOutcome({ sent: 25, accepted: 0, sentAt: 2000 });

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

  describe('Against a token-bucket table', () => {
    it('settles at 90% or more of a 1,000 items/s table with at most 10% of calls rejected whole', () => {
      // Act
      const { goodput, rejectedShare } = simulate(1_000, 60);

      // Assess
      expect(goodput).toBeGreaterThanOrEqual(0.9);
      expect(rejectedShare).toBeLessThanOrEqual(0.1);
    });

    it('settles at 90% or more of a 25 items/s table with at most 10% of calls rejected whole', () => {
      // Act
      const { goodput, rejectedShare } = simulate(25, 120);

      // Assess
      expect(goodput).toBeGreaterThanOrEqual(0.9);
      expect(rejectedShare).toBeLessThanOrEqual(0.1);
    });

    it('lets three senders share one table without coordination, none starved', () => {
      // Act
      const { goodput, acceptedBy } = simulate(1_000, 120, 3);

      // Assess
      expect(goodput).toBeGreaterThanOrEqual(0.9);
      for (const share of acceptedBy) expect(share / (1_000 * 120)).toBeGreaterThan(0.15);
    });
  });
});

import { describe, expect, it } from 'vitest';
import { AUTOSCALE_OFF, Autoscaler, validateAutoscale, type AutoscaleSettings, type LoadSample } from '../../src/domain/autoscale.ts';
import { BadInputError } from '../../src/domain/errors.ts';

const ON: AutoscaleSettings = { enabled: true, min: 1, max: 10, targetBacklog: 10, scaleDownDelayMs: 30_000 };

const load = (processors: number, busy: number, runnable: number): LoadSample => ({ processors, busy, runnable });

/**
 * Feeds the autoscaler one sample per second from `from` to `to` (inclusive) and returns
 * the decisions with their times; `sample(t)` gives the load at time t.
 */
function feed(scaler: Autoscaler, from: number, to: number, sample: (t: number) => LoadSample, step = 1000) {
  const decisions = [];
  for (let t = from; t <= to; t += step) {
    const d = scaler.observe(t, sample(t));
    if (d) decisions.push(d);
  }
  return decisions;
}

describe('Autoscaler.recommend', () => {
  const scaler = new Autoscaler(ON);
  it.each([
    ['no load: the minimum', load(5, 0, 0), 1],
    ['enough for the backlog: ceil(runnable / targetBacklog)', load(1, 1, 25), 3],
    ['an exact multiple of the target', load(1, 1, 30), 3],
    ['never fewer than are busy', load(6, 6, 5), 6],
    ['never more than the maximum', load(1, 1, 1000), 10],
    ['busy beyond the maximum still capped', load(12, 12, 0), 10],
  ])('recommends %s', (_what, sample, expected) => {
    expect(scaler.recommend(sample)).toBe(expected);
  });
});

describe('Autoscaler.observe', () => {
  it('scales up at once when the backlog needs more processors', () => {
    const scaler = new Autoscaler(ON);
    const d = scaler.observe(0, load(1, 1, 35));
    expect(d).toMatchObject({ at: 0, from: 1, to: 4 });
    expect(d!.reason).toBe('scale up 1→4: 35 queued jobs could start now, on 1 processor (target: 10 waiting per processor)');
  });

  it('stays put while the recommendation equals the current count', () => {
    const scaler = new Autoscaler(ON);
    expect(feed(scaler, 0, 120_000, () => load(3, 3, 0))).toEqual([]);
  });

  it('does not scale down before the load has been low for scaleDownDelayMs', () => {
    const scaler = new Autoscaler(ON);
    expect(feed(scaler, 0, 29_999, () => load(5, 1, 0))).toEqual([]);
    expect(scaler.observe(30_000, load(5, 1, 0))).toMatchObject({ at: 30_000, from: 5, to: 1 });
  });

  it('scales down to the highest recommendation of the window', () => {
    const scaler = new Autoscaler(ON);
    const wanted = (t: number) => (t < 10_000 ? 3 : t < 20_000 ? 2 : 1);
    const decisions = feed(scaler, 0, 30_000, (t) => load(8, wanted(t), 0));
    expect(decisions).toEqual([{ at: 30_000, from: 8, to: 3, reason: 'scale down 8→3: no more than 3 needed for 30000 ms' }]);
  });

  it('keeps processors through a short spike inside the window, then scales down once it has passed', () => {
    const scaler = new Autoscaler(ON);
    // idle except one moment at t = 10 s when all 5 processors were busy
    const sample = (t: number) => (t === 10_000 ? load(5, 5, 0) : load(5, 0, 0));
    expect(feed(scaler, 0, 40_000, sample)).toEqual([]); // the spike is still within the last 30 s
    expect(scaler.observe(41_000, sample(41_000))).toMatchObject({ from: 5, to: 1 });
  });

  it('starts a new window after every decision', () => {
    const scaler = new Autoscaler(ON);
    expect(scaler.observe(0, load(8, 3, 0))).toBeUndefined();
    expect(scaler.observe(30_000, load(8, 3, 0))).toMatchObject({ from: 8, to: 3 });
    // now at 3 and the load drops further: another full delay before the next step down
    expect(feed(scaler, 31_000, 60_000, () => load(3, 1, 0))).toEqual([]);
    expect(scaler.observe(61_000, load(3, 1, 0))).toMatchObject({ from: 3, to: 1 });
  });

  it('forgets the low-load window when load rises to need a scale-up', () => {
    const scaler = new Autoscaler(ON);
    feed(scaler, 0, 20_000, () => load(4, 1, 0));
    expect(scaler.observe(21_000, load(4, 4, 100))).toMatchObject({ from: 4, to: 10 });
    expect(feed(scaler, 22_000, 51_000, () => load(10, 1, 0))).toEqual([]);
    expect(scaler.observe(52_000, load(10, 1, 0))).toMatchObject({ from: 10, to: 1 });
  });

  it('scales down after exactly the delay even when samples are sparse', () => {
    const scaler = new Autoscaler({ ...ON, scaleDownDelayMs: 10_000 });
    expect(scaler.observe(0, load(6, 2, 0))).toBeUndefined();
    expect(scaler.observe(100_000, load(6, 1, 0))).toMatchObject({ from: 6, to: 1 });
  });

  it('scales down at the first low sample when the delay is 0', () => {
    const scaler = new Autoscaler({ ...ON, scaleDownDelayMs: 0 });
    expect(scaler.observe(0, load(6, 2, 0))).toMatchObject({ from: 6, to: 2 });
  });

  it('corrects a count below the minimum at once', () => {
    const scaler = new Autoscaler({ ...ON, min: 2 });
    expect(scaler.observe(0, load(0, 0, 0))).toMatchObject({ from: 0, to: 2, reason: 'scale up 0→2: below the minimum of 2' });
  });

  it('goes straight to the recommendation when below the minimum and the backlog needs more', () => {
    const scaler = new Autoscaler({ ...ON, min: 2 });
    expect(scaler.observe(0, load(0, 0, 75))).toMatchObject({ from: 0, to: 8 });
  });

  it('corrects a count above the maximum at once, without waiting for the delay', () => {
    const scaler = new Autoscaler(ON);
    feed(scaler, 0, 5_000, () => load(10, 10, 0));
    expect(scaler.observe(6_000, load(14, 14, 500))).toMatchObject({
      at: 6_000,
      from: 14,
      to: 10,
      reason: 'scale down 14→10: above the maximum of 10',
    });
  });

  it('does nothing when disabled, whatever the load', () => {
    const scaler = new Autoscaler({ ...ON, enabled: false });
    expect(scaler.observe(0, load(0, 0, 10_000))).toBeUndefined();
    expect(scaler.observe(1, load(100, 0, 0))).toBeUndefined();
    expect(feed(scaler, 0, 100_000, () => load(8, 0, 0))).toEqual([]);
    expect(new Autoscaler(AUTOSCALE_OFF).observe(0, load(0, 0, 1000))).toBeUndefined();
  });

  it('restarts the window when reconfigured', () => {
    const scaler = new Autoscaler(ON);
    expect(feed(scaler, 0, 29_000, () => load(5, 1, 0))).toEqual([]);
    scaler.configure({ ...ON, max: 9 });
    expect(scaler.current).toEqual({ ...ON, max: 9 });
    // without the reset this would scale down at 30 s
    expect(feed(scaler, 30_000, 59_000, () => load(5, 1, 0))).toEqual([]);
    expect(scaler.observe(60_000, load(5, 1, 0))).toMatchObject({ from: 5, to: 1 });
  });

  it('applies new settings from configure at once', () => {
    const scaler = new Autoscaler(ON);
    scaler.configure({ ...ON, targetBacklog: 1 });
    expect(scaler.observe(0, load(1, 1, 5))).toMatchObject({ to: 5 });
    scaler.configure({ ...ON, enabled: false });
    expect(scaler.observe(1, load(1, 1, 500))).toBeUndefined();
  });
});

describe('validateAutoscale', () => {
  it('returns valid settings unchanged', () => {
    expect(validateAutoscale(ON, 10)).toBe(ON);
    expect(validateAutoscale({ ...ON, min: 0, max: 1, targetBacklog: 1_000_000, scaleDownDelayMs: 0 }, 1)).toBeTruthy();
    expect(validateAutoscale({ ...ON, min: 4, max: 4, scaleDownDelayMs: 24 * 3_600_000 }, 4)).toBeTruthy();
  });

  it.each<[string, Partial<AutoscaleSettings>, string, string]>([
    ['a negative min', { min: -1 }, 'min', 'min must be a whole number from 0 to 16 (got -1)'],
    ['a min above the processor limit', { min: 17, max: 16 }, 'min', 'min must be a whole number from 0 to 16 (got 17)'],
    ['a max of 0', { max: 0, min: 0 }, 'max', 'max must be a whole number from 1 to 16 (got 0)'],
    ['a max above the processor limit', { max: 17 }, 'max', 'max must be a whole number from 1 to 16 (got 17)'],
    ['a fractional max', { max: 2.5 }, 'max', 'max must be a whole number from 1 to 16 (got 2.5)'],
    ['a targetBacklog of 0', { targetBacklog: 0 }, 'targetBacklog', 'targetBacklog must be a whole number from 1 to 1000000 (got 0)'],
    ['a negative delay', { scaleDownDelayMs: -1 }, 'scaleDownDelayMs', 'scaleDownDelayMs must be a whole number from 0 to 86400000 (got -1)'],
    ['a delay over a day', { scaleDownDelayMs: 86_400_001 }, 'scaleDownDelayMs', 'scaleDownDelayMs must be a whole number from 0 to 86400000 (got 86400001)'],
    ['NaN', { targetBacklog: Number.NaN }, 'targetBacklog', 'targetBacklog must be a whole number from 1 to 1000000 (got NaN)'],
    ['min above max', { min: 5, max: 4 }, 'min', 'min (5) must not exceed max (4)'],
  ])('rejects %s, naming the field', (_what, change, field, message) => {
    const settings = { ...ON, ...change };
    expect(() => validateAutoscale(settings, 16)).toThrow(BadInputError);
    expect(() => validateAutoscale(settings, 16)).toThrow(message);
    try {
      validateAutoscale(settings, 16);
    } catch (e) {
      expect((e as BadInputError).details).toEqual({ field });
      expect((e as BadInputError).message).toBe(message);
    }
  });
});

describe('Autoscaler: long windows', () => {
  it('keeps a one-hour window sampled every 10 ms in bounded memory and still scales down', () => {
    const scaler = new Autoscaler({ ...ON, max: 10, scaleDownDelayMs: 3_600_000 });
    // The load falls from 8 busy to 2 over the hour, every 10 ms: 360,001 samples.
    const decisions = feed(scaler, 0, 3_600_000, (t) => load(8, t < 1_800_000 ? 8 : 2, 0), 10);
    expect(decisions).toEqual([]);
    const window = (scaler as unknown as { window: unknown[] }).window;
    expect(window.length).toBeLessThanOrEqual(11);
    const later = feed(scaler, 3_600_010, 5_400_010, () => load(8, 2, 0), 10);
    expect(later.map((d) => [d.from, d.to])).toEqual([[8, 2]]);
  });
});

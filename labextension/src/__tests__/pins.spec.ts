import { describe, expect, it } from 'vitest';

import { allPins, GPIOS, isGpio, pinInfo } from '../pins';

describe('ESP32 pins', () => {
  it('has the 34 GPIOs of the chip', () => {
    expect(GPIOS).toHaveLength(34);
    expect(isGpio(20)).toBe(false);
    expect(isGpio(24)).toBe(false);
    expect(isGpio(28)).toBe(false);
    expect(isGpio(39)).toBe(true);
    expect(() => pinInfo(40)).toThrow(RangeError);
  });

  it('marks 6–11 as the flash pins and 34–39 as input-only', () => {
    expect(
      allPins()
        .filter(p => p.use === 'flash')
        .map(p => p.gpio)
    ).toEqual([6, 7, 8, 9, 10, 11]);
    expect(
      allPins()
        .filter(p => p.use === 'input-only')
        .map(p => p.gpio)
    ).toEqual([34, 35, 36, 37, 38, 39]);
    expect(pinInfo(8).note).toContain('do not use');
    expect(pinInfo(36).note).toContain('input only');
  });

  it('knows the ADC channels, with ADC2 unusable under WiFi, and the DACs', () => {
    expect(pinInfo(36).adc).toBe('ADC1_CH0');
    expect(pinInfo(32).adc).toBe('ADC1_CH4');
    expect(pinInfo(4).adc).toBe('ADC2_CH0');
    expect(pinInfo(4).note).toContain('not while WiFi is on');
    expect(pinInfo(25).dac).toBe('DAC1');
    expect(pinInfo(26).dac).toBe('DAC2');
    expect(pinInfo(5).adc).toBeNull();
    expect(allPins().filter(p => p.adc).length).toBe(18);
  });
});

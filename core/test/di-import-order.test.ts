// No reflect-metadata import here on purpose: a module using tsyringe's decorators must load,
// whatever is imported first (this once failed only when a test file imported a service first).
import { ConnectionService } from '../src/connections/connection-service.js';
import { describe, expect, it } from 'vitest';

describe('dependency injection import order', () => {
  it('a decorated service loads without the caller importing reflect-metadata first', () => {
    expect(typeof ConnectionService).toBe('function');
    expect(typeof (Reflect as unknown as { getMetadata?: unknown }).getMetadata).toBe('function');
  });
});

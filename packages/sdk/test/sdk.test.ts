import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  ConnectorError,
  defineConnector,
  isConnectorDefinition,
  isConnectorError,
  isConnectorPort,
  manifestSchema,
  SDK_VERSION,
} from '@erpc/sdk';

describe('@erpc/sdk', () => {
  it('SDK_VERSION is the package version', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(SDK_VERSION).toBe(pkg.version);
  });

  it('defineConnector builds a frozen, tagged definition', () => {
    const def = defineConnector({ connectorType: 'X_V1', create: () => ({ push: async () => ({ externalRef: 'a' }), testConnection: async () => ({ ok: true, latencyMs: 0 }) }) });
    expect(def.$$type).toBe('erpc.connector');
    expect(def.apiVersion).toBe(1);
    expect(Object.isFrozen(def)).toBe(true);
    expect(isConnectorDefinition(def)).toBe(true);
    expect(isConnectorDefinition({ connectorType: 'X', create() {} })).toBe(false);
    expect(isConnectorPort(def.create({ logger: console, clock: { now: () => new Date() } }))).toBe(true);
    expect(isConnectorPort({ push() {} })).toBe(false);
  });

  it('ConnectorError is recognised by shape, not class', () => {
    const err = new ConnectorError('DISK_FULL', 'The disk is full', { retryable: true });
    expect(isConnectorError(err)).toBe(true);
    expect(err.name).toBe('ConnectorError');
    expect(isConnectorError({ name: 'ConnectorError', code: 'X', retryable: false, message: 'm' })).toBe(true);
    expect(isConnectorError(new Error('x'))).toBe(false);
    expect(isConnectorError({ name: 'ConnectorError', code: 'X' })).toBe(false);
  });

  it('exports the manifest schema as data equal to the published file', () => {
    const file = JSON.parse(readFileSync(new URL('../manifest.schema.json', import.meta.url), 'utf8')) as unknown;
    expect(manifestSchema).toEqual(file);
  });
});

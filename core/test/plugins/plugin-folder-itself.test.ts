import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { discoverPlugins } from '../../src/plugins/discover.js';

const plugins = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../plugins');

describe('--plugins-dir accepts a plugin folder itself', () => {
  it('a folder whose package.json has a manifest is one candidate, not a folder of plugins', () => {
    const mock = path.join(plugins, 'connector-mock');
    const { candidates, unreadable } = discoverPlugins([mock]);
    expect(unreadable).toEqual([]);
    expect(candidates.map((c) => c.dir)).toEqual([mock]);
  });

  it('a folder of plugins is still searched one level down', () => {
    const { candidates } = discoverPlugins([plugins]);
    expect(candidates.map((c) => path.basename(c.dir))).toEqual(expect.arrayContaining(['connector-mock', 'connector-dropzone-json-v1']));
  });
});

import { sdkRangeProblem } from '../plugin-files.js';
import type { Session } from '../session.js';
import type { CheckResult } from '../types.js';
import { fail, pass, skip } from './result.js';

/** manifest.*: package.json, manifest schema, paths inside the folder, SDK range. */
export async function manifestChecks(s: Session): Promise<CheckResult[]> {
  const f = s.files;
  const out: CheckResult[] = [];
  if (!f.packageJson) {
    const why = f.packageJsonError ?? 'package.json missing';
    return [
      fail('manifest.package-json', why),
      skip('manifest.schema', 'needs a readable package.json'),
      skip('manifest.paths', 'needs a readable package.json'),
      skip('manifest.sdk', 'needs a readable package.json'),
    ];
  }
  const { name, version } = f.packageJson;
  const missing = [typeof name === 'string' && name.length > 0 ? undefined : 'name', typeof version === 'string' && version.length > 0 ? undefined : 'version'].filter(
    (x): x is string => x !== undefined,
  );
  out.push(missing.length ? fail('manifest.package-json', `package.json lacks ${missing.join(' and ')}`) : pass('manifest.package-json'));
  if (!f.manifest) {
    out.push(fail('manifest.schema', f.manifestError ?? 'invalid manifest'));
    out.push(skip('manifest.paths', 'needs a valid manifest'), skip('manifest.sdk', 'needs a valid manifest'));
    return out;
  }
  out.push(pass('manifest.schema'));
  out.push(f.pathError ? fail('manifest.paths', f.pathError) : pass('manifest.paths'));
  const problem = sdkRangeProblem(f.manifest.sdk);
  out.push(problem ? fail('manifest.sdk', problem) : pass('manifest.sdk'));
  return out;
}

import type { CheckResult } from '../types.js';

export const pass = (id: string, message?: string): CheckResult => (message === undefined ? { id, status: 'pass' } : { id, status: 'pass', message });
export const fail = (id: string, message: string): CheckResult => ({ id, status: 'fail', message });
export const skip = (id: string, message: string): CheckResult => ({ id, status: 'skipped', message });

/**
 * The version of this SDK. A host checks every plugin's manifest `sdk` range against the
 * version of the SDK it was built with.
 */
export const SDK_VERSION = '1.1.0';

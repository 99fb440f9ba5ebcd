/** The layouts of a drop folder. */
export type DropzoneLayout = 'flat' | 'by-document-type';

/** The layout when the config names none. */
export const DEFAULT_LAYOUT: DropzoneLayout = 'by-document-type';

/**
 * The folder, relative to the drop folder, that a document of `documentType` goes to: `''` in
 * the flat layout, the document type (already vetted by assertDocumentType) otherwise.
 */
export function typeFolderOf(layout: DropzoneLayout, documentType: string): string {
  return layout === 'flat' ? '' : documentType;
}

/** A receipt's externalRef: the final name relative to the drop folder. */
export function externalRefOf(relDir: string, finalName: string): string {
  return relDir ? `${relDir}/${finalName}` : finalName;
}

/**
 * The one rule for a SKU id, shared by the API (a path or list parameter) and the CSV import, so
 * every id that imports can be asked for: ASCII letters, digits and . _ : -, starting with a letter
 * or digit, up to 100 characters.
 */
export const SKU_ID_RE = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$/;

export const SKU_ID_RULE = 'letters, digits, . _ : -, up to 100 characters';

export function isValidSkuId(id: string): boolean {
  return SKU_ID_RE.test(id);
}

/** Quotes at most a short prefix of untrusted input in an error message. */
export function quotePrefix(text: string, max = 40): string {
  return text.length <= max ? `"${text}"` : `"${text.slice(0, max)}..." (${text.length} characters)`;
}

/** Why an id is refused, or undefined when it is valid. */
export function skuIdProblem(id: string): string | undefined {
  return isValidSkuId(id) ? undefined : `SKU ${quotePrefix(id)} is not a valid id (${SKU_ID_RULE})`;
}

/**
 * How people's names are compared: two names that look alike are the same person. Pure (the
 * workflow bundle imports it through src/rollout/decisions.ts).
 *
 * No maintained confusables package is available to this project, so the folding is a small,
 * fixed table rather than the full Unicode confusables data (UTS #39): it covers the letters
 * that are drawn identically in Cyrillic, Greek and Latin, the digits and symbols that pass for
 * letters, and two letter pairs. A name is folded in this order:
 *   1. NFKC (full-width, ligatures, compatibility forms -> their ordinary letters);
 *   2. drop invisible format characters (zero-width space/joiners, soft hyphen, BOM) and accents;
 *   3. map each look-alike character to its Latin prototype (table below, before case folding so
 *      capital I and l collide);
 *   4. lower-case; "rn" -> "m", "vv" -> "w"; whitespace runs -> one space, trimmed.
 * Stricter than needed is the safe side: "José" and "Jose" fold together too.
 */

const LOOK_ALIKES: Record<string, string> = {
  // Cyrillic capitals and small letters that are drawn like Latin ones
  А: 'a', В: 'b', Е: 'e', К: 'k', М: 'm', Н: 'h', О: 'o', Р: 'p', С: 'c', Т: 't', Х: 'x', У: 'y', Ѕ: 's', І: 'l', Ј: 'j', Ԁ: 'd', Ԍ: 'g', Ԛ: 'q', Ԝ: 'w', Ү: 'y',
  а: 'a', в: 'b', е: 'e', к: 'k', м: 'm', н: 'h', о: 'o', р: 'p', с: 'c', т: 't', х: 'x', у: 'y', ѕ: 's', і: 'i', ј: 'j', ԁ: 'd', ԍ: 'g', ԛ: 'q', ԝ: 'w', һ: 'h', ү: 'y', ӏ: 'l', Ӏ: 'l', ɡ: 'g', ո: 'n', ս: 'u',
  // Greek
  Α: 'a', Β: 'b', Ε: 'e', Ζ: 'z', Η: 'h', Ι: 'l', Κ: 'k', Μ: 'm', Ν: 'n', Ο: 'o', Ρ: 'p', Τ: 't', Υ: 'y', Χ: 'x',
  α: 'a', ο: 'o', ρ: 'p', ν: 'v', ι: 'i', κ: 'k', τ: 't', υ: 'u', χ: 'x', ε: 'e',
  // Latin capital I looks like small l; digits and symbols that pass for letters
  I: 'l', '1': 'l', '|': 'l', '0': 'o', '5': 's', '$': 's', '@': 'a',
  // Separators that look the same
  '_': '-', '‐': '-', '‑': '-', '‒': '-', '–': '-', '—': '-', '−': '-', '.': '-',
};

/** Invisible format characters (Unicode category Cf) and combining accents. */
const INVISIBLE = /\p{Cf}/gu;
const ACCENTS = /\p{Mn}/gu;

/** The stored form of a name: NFKC, invisible characters removed, spaces collapsed. */
export function normalizeName(name: string): string {
  return name.normalize('NFKC').replace(INVISIBLE, '').replace(/\s+/g, ' ').trim();
}

/** The comparison key: equal keys = names that look alike (see the steps above). */
export function nameKey(name: string): string {
  const base = normalizeName(name).normalize('NFD').replace(ACCENTS, '').normalize('NFC');
  let out = '';
  for (const ch of base) out += LOOK_ALIKES[ch] ?? ch;
  return out.toLowerCase().replace(/rn/g, 'm').replace(/vv/g, 'w');
}

export const sameName = (a: string, b: string): boolean => nameKey(a) === nameKey(b);

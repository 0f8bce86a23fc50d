import { SELECTION_POLICIES, type SelectionOptions, type SelectionPolicy } from './select';
import { MODEL_NAMES, type ModelName } from './types';

/**
 * What a per-SKU model assignment says serves the SKU: one model ("Prophet", "CrostonSBA") or a
 * selection policy ("plan", "class-best"). An assigned policy is an explicit opt-in to that rule, so
 * it runs with hybrid forecasting on even where the environment's ENABLE_HYBRID_FORECASTING is off:
 * that is how a cohort of SKUs gets the hybrid before the whole catalogue does.
 */
export type Serves = ModelName | SelectionPolicy;

export const SERVES_VALUES: readonly string[] = [...MODEL_NAMES, ...SELECTION_POLICIES];

export function isServes(v: unknown): v is Serves {
  return typeof v === 'string' && SERVES_VALUES.includes(v);
}

/** The value, or an error naming it and the accepted ones. */
export function parseServes(v: unknown, what = 'serves'): Serves {
  if (isServes(v)) return v;
  throw new RangeError(`${what}: ${JSON.stringify(v)} is neither a model (${MODEL_NAMES.join(', ')}) nor a policy (${SELECTION_POLICIES.join(', ')})`);
}

/** How to forecast a SKU assigned `serves`, given the environment's selection settings. */
export function servesSelection<S extends Pick<SelectionOptions, 'policy' | 'hybridEnabled'>>(serves: Serves, selection: S): { model?: ModelName; selection: S } {
  if ((MODEL_NAMES as readonly string[]).includes(serves)) return { model: serves as ModelName, selection };
  return { selection: { ...selection, policy: serves as SelectionPolicy, hybridEnabled: true } };
}

import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * Typed search attributes every workflow sets so the Web UI and `temporal workflow list --query`
 * can filter by them, e.g. `NeuroEnvironment = "staging" AND NeuroStatus = "running"`.
 */
export const ENVIRONMENT = defineSearchAttributeKey('NeuroEnvironment', SearchAttributeType.KEYWORD);
export const RUN_DATE = defineSearchAttributeKey('NeuroRunDate', SearchAttributeType.KEYWORD);
export const STATUS = defineSearchAttributeKey('NeuroStatus', SearchAttributeType.KEYWORD);
export const RELEASE_TAG = defineSearchAttributeKey('NeuroReleaseTag', SearchAttributeType.KEYWORD);
export const STAGE = defineSearchAttributeKey('NeuroStage', SearchAttributeType.KEYWORD);
export const TRIGGER = defineSearchAttributeKey('NeuroTrigger', SearchAttributeType.KEYWORD);
/** "automatic" on a hybrid rollout that fell back by itself (HYBRID_FALLBACK_MAPE). */
export const FALLBACK = defineSearchAttributeKey('NeuroFallback', SearchAttributeType.KEYWORD);

/** Set by Temporal on runs a Schedule starts (system attribute: not registered by us). */
export const SCHEDULED_BY = defineSearchAttributeKey('TemporalScheduledById', SearchAttributeType.KEYWORD);

export const ALL_SEARCH_ATTRIBUTES = [ENVIRONMENT, RUN_DATE, STATUS, RELEASE_TAG, STAGE, TRIGGER, FALLBACK];

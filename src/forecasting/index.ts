/** The pure forecasting engine: no Temporal, database or cache imports. */
export * from './types';
export * from './long-csv';
export * from './models';
export * from './classify';
export * from './metrics';
export * from './conformal';
export * from './select';
export * from './predict';
export * from './engine';
export * from './backtest';
export * from './dates';
export * from './validate';
export * from './synthetic';
export * from './series-file';

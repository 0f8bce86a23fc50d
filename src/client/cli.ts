import { Command, InvalidArgumentError, Option } from 'commander';
import { NotBuiltError } from './not-built';

/**
 * The `neuro` CLI. Options are declared here, in one place; each action loads its implementation
 * lazily so `neuro --help` and the offline commands start fast.
 */

/** Command modules load when their command runs, so `neuro --help` and offline commands start fast. */
const commands = {
  approvers: () => require('./commands/approvers') as typeof import('./commands/approvers'),
  backtest: () => require('./commands/backtest') as typeof import('./commands/backtest'),
  backtestRun: () => require('./commands/backtest-run') as typeof import('./commands/backtest-run'),
  config: () => require('./commands/config') as typeof import('./commands/config'),
  data: () => require('./commands/data') as typeof import('./commands/data'),
  db: () => require('./commands/db') as typeof import('./commands/db'),
  demo: () => require('./commands/demo') as typeof import('./commands/demo'),
  deploy: () => require('./commands/deploy') as typeof import('./commands/deploy'),
  dev: () => require('./commands/dev') as typeof import('./commands/dev'),
  doctor: () => require('./commands/doctor') as typeof import('./commands/doctor'),
  forecastFile: () => require('./commands/forecast-file') as typeof import('./commands/forecast-file'),
  forecastRun: () => require('./commands/forecast-run') as typeof import('./commands/forecast-run'),
  models: () => require('./commands/models') as typeof import('./commands/models'),
  prefetch: () => require('./commands/prefetch') as typeof import('./commands/prefetch'),
  report: () => require('./commands/report') as typeof import('./commands/report'),
  rollout: () => require('./commands/rollout') as typeof import('./commands/rollout'),
  release: () => require('./commands/release') as typeof import('./commands/release'),
  schedules: () => require('./commands/schedules') as typeof import('./commands/schedules'),
  stability: () => require('./commands/stability') as typeof import('./commands/stability'),
  traffic: () => require('./commands/traffic') as typeof import('./commands/traffic'),
};

const int = (name: string) => (v: string) => {
  if (!/^-?\d+$/.test(v)) throw new InvalidArgumentError(`${name} must be a whole number, got "${v}"`);
  return Number(v);
};
const num = (name: string) => (v: string) => {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`${name} must be a number, got "${v}"`);
  return n;
};
const collect = (v: string, prev: string[] = []) => [...prev, v];

const envOption = () => new Option('--env <environment>', 'staging or production').default('production');

export function buildProgram(): Command {
  const program = new Command('neuro')
    .description('Forecast orchestrator on Temporal: batch forecasts, cache prefetch, staged rollouts')
    .showHelpAfterError()
    // A parent's options before its subcommand only (`report daily --env E` is daily's --env).
    .enablePositionalOptions()
    .configureOutput({ outputError: (s, write) => write(s) });

  program
    .command('demo')
    .description('run the main job on embedded defaults: migrate, generate data, forecastRun, preload, backtest, summary')
    .option('--json', 'print one JSON object as the last line')
    .option('--skus <n>', 'SKUs in the generated catalogue', int('--skus'), 700)
    .option('--days <n>', 'days of history', int('--days'), 730)
    .option('--fresh', 'discard data kept from earlier demo/dev runs in .neuro/')
    .action((o) => commands.demo().demoCommand(o));

  program
    .command('dev')
    .description('start the Temporal dev server (Web UI), a worker and the API; Ctrl-C stops all of it')
    .option('--port <port>', 'API port', int('--port'), 8080)
    .option('--ui-port <port>', 'Temporal Web UI port', int('--ui-port'), 8233)
    .option('--temporal-port <port>', 'Temporal frontend port', int('--temporal-port'), 7233)
    .action((o) => commands.dev().devCommand(o));

  program
    .command('worker')
    .description('run a worker process (needs TEMPORAL_ADDRESS or a running `neuro dev`)')
    .addOption(new Option('--role <role>', 'workflows: workflow tasks and light activities; forecast: CPU-bound batches; all: both').choices(['workflows', 'forecast', 'all']).default('all'))
    .option('--embedded', 'without DATABASE_URL, use a throwaway embedded PostgreSQL instead of refusing')
    .action((o) => commands.dev().workerCommand(o));

  program
    .command('api')
    .description('run the HTTP forecast API')
    .option('--port <port>', 'port', int('--port'), 8080)
    .option('--host <host>', 'bind address', '127.0.0.1')
    .action((o) => commands.dev().apiCommand(o));

  const db = program.command('db').description('database');
  db.command('migrate')
    .description('apply pending migrations (idempotent)')
    .action(() => commands.db().migrateCommand());

  const data = program.command('data').description('catalogue and sales history');
  data
    .command('generate')
    .description('generate a realistic catalogue (smooth, erratic, intermittent, lumpy SKUs) into the database')
    .option('--skus <n>', 'number of SKUs', int('--skus'), 700)
    .option('--days <n>', 'days of history', int('--days'), 730)
    .option('--seed <n>', 'random seed', int('--seed'), 42)
    .option('--end <date>', 'last day of history (YYYY-MM-DD)', undefined)
    .option('--csv <file>', 'write long CSV (unique_id,ds,y) to this file instead of the database')
    .action((o) => commands.data().generateCommand(o));
  data
    .command('import')
    .description('import long CSV (unique_id,ds,y or sku,date,quantity); a file with bad rows is refused whole')
    .argument('<file>', 'CSV file')
    .action((file) => commands.data().importCommand(file));

  const forecast = program.command('forecast').description('forecasts');
  forecast
    .command('run')
    .description('start a forecastRun workflow now')
    .addOption(envOption())
    .option('--wait', 'follow progress until the run completes')
    .option('--date <date>', 'run date (YYYY-MM-DD), default today UTC')
    .option('--batch-size <n>', 'SKUs per batch', int('--batch-size'))
    .option('--delay-ms <ms>', 'override STREAMING_BATCH_DELAY_MS for this run', int('--delay-ms'))
    .option('--policy <policy>', 'selection policy: plan, sbc, backtest-best or class-best')
    .option('--shadow <model|policy>', 'also forecast and backtest this challenger beside what serves, stored apart and never served')
    .option('--skus <list>', 'comma-separated SKU subset')
    .action((o) => commands.forecastRun().forecastRunCommand(o));
  forecast
    .command('file')
    .description('forecast a long CSV (unique_id,ds,y) with one model, offline; CSV to stdout')
    .requiredOption('--input <file>', 'long CSV')
    .requiredOption('--model <model>', 'model name, e.g. CrostonClassic, TSB, Prophet')
    .requiredOption('--horizon <h>', 'periods to forecast', int('--horizon'))
    .option('--season-length <s>', 'season length', int('--season-length'))
    .option('--alpha <a>', 'smoothing constant', num('--alpha'))
    .option('--alpha-d <a>', 'TSB demand smoothing', num('--alpha-d'))
    .option('--alpha-p <a>', 'TSB probability smoothing', num('--alpha-p'))
    .option('--level <pct>', 'prediction-interval level, repeatable or comma-separated (e.g. 80,95)', collect)
    .option('--n-windows <n>', 'conformal calibration windows (default 2)', int('--n-windows'))
    .action((o) => commands.forecastFile().runForecastFile(o, process.stdout));

  program
    .command('backtest')
    .description('rolling-origin backtest: offline on --input, else a backtest workflow on the database')
    .option('--input <file>', 'long CSV (offline, no services)')
    .option('--horizon <h>', 'periods per window', int('--horizon'), 7)
    .option('--windows <w>', 'rolling windows', int('--windows'), 4)
    .option('--step <s>', 'periods between window origins', int('--step'))
    .option('--policy <policy>', 'plan, sbc, backtest-best or class-best')
    .option('--model <model>', 'one model for every SKU')
    .option('--format <format>', 'json or csv', 'json')
    .option('--outlier-threshold <pct>', 'MAPE above which a SKU is an outlier', num('--outlier-threshold'))
    .option('--outlier-metric <metric>', 'offline: mape (default), wape, mase or rmsse decides outliers')
    .option('--level <pct>', 'offline: score prediction intervals at this level, repeatable or comma-separated', collect)
    .option('--n-windows <n>', 'offline: conformal calibration windows (default 2)', int('--n-windows'))
    .addOption(envOption())
    .option('--wait', 'wait for the workflow and print its summary')
    .action((o) =>
      o.input
        ? commands.backtest().runBacktestCli(o, process.stdout)
        : commands.backtestRun().backtestWorkflowCommand(o),
    );

  const schedules = program.command('schedules').description('Temporal Schedules from configuration');
  schedules
    .command('apply')
    .description('create or update forecast-daily and the prefetch schedules (idempotent)')
    .addOption(envOption())
    .action((o) => commands.schedules().schedulesApply(o));
  schedules
    .command('list')
    .description('list the schedules with their specs and state')
    .action(() => commands.schedules().schedulesList());

  const prefetch = program.command('prefetch').description('cache prefetch');
  prefetch
    .command('run')
    .description('start a prefetch workflow now')
    .addOption(envOption())
    .option('--top-n <n>', 'override PREFETCH_TOP_N_QUERIES', int('--top-n'))
    .option('--wait', 'wait and print the result')
    .action((o) => commands.prefetch().prefetchRun(o));

  const deploy = program.command('deploy').description('deploy hooks');
  deploy
    .command('complete')
    .description('the deploy hook: post-deploy prefetch after PREFETCH_POST_DEPLOY_DELAY_MS, once per deploy id')
    .addOption(envOption())
    .option('--deploy-id <id>', 'deploy id (default: a new one)')
    .action((o) => commands.deploy().deployComplete(o));

  const config = program.command('config').description('per-environment configuration in PostgreSQL');
  config
    .command('get')
    .description('show effective values (KEY for one)')
    .addOption(envOption())
    .argument('[key]')
    .option('--json', 'JSON output')
    .action((key, o) => commands.config().configGet(key, o));
  config
    .command('set')
    .description('set KEY=VALUE ... atomically: all valid or nothing written')
    .addOption(envOption())
    .argument('<assignments...>', 'KEY=VALUE pairs')
    .option('--by <who>', 'who makes the change', process.env.USER || 'cli')
    .option('--reason <text>', 'why')
    .action((assignments, o) => commands.config().configSet(assignments, o));
  config
    .command('history')
    .description('audit trail of changes')
    .addOption(envOption())
    .argument('[key]')
    .option('--limit <n>', 'rows', int('--limit'), 50)
    .action((key, o) => commands.config().configHistoryCommand(key, o));

  const rollout = program.command('rollout').description('staged rollouts with gates, sign-offs, GO/NO-GO and rollback');
  rollout
    .command('start')
    .description('start a rollout of a kickoff plan (v19.3-batch-delay, v19.3-prefetch, v19.3-hybrid-ml)')
    .requiredOption('--plan <name>', 'plan name')
    .option('--release <tag>', 'release tag (default: the plan name)')
    .option('--set <KEY=VALUE>', 'override a change of the plan (repeatable)', collect)
    .option('--soak <duration>', 'staging soak window, e.g. 24h, 30s')
    .option('--monitor <duration>', 'production monitoring window')
    .option('--cycles <n>', 'validation forecast cycles', int('--cycles'))
    .option('--shadow <model|policy>', 'shadow A/B: forecast and backtest this challenger beside what serves in every validation cycle, never served (P3: plan; none for none)')
    .addOption(new Option('--promotion <mode>', 'cohort plans (P3): start each next cohort step automatically or after a signed promote').choices(['auto', 'manual']))
    .option('--all-at-once', 'cohort plans (P3): production in one step instead of cohort steps')
    .option('--monitor-cycles <n>', 'forecast cycles in production during monitoring (default 0: the daily schedule runs them)', int('--monitor-cycles'))
    .option('--approval-timeout <duration>', 'NO-GO when sign-offs and GO have not come in by then')
    .option('--guard <duration>', 'hybrid rollouts: how long after monitoring the automatic fallback keeps checking new production runs (plan: 7d; 0 for none)')
    .option('--confirm-timeout <duration>', 'when monitoring ends with gates inconclusive: roll back unless confirmed by then (default 24h)')
    .option('--gate <criterion>', "NAME<OP>VALUE: replace a gate's threshold for this rollout or add a gate, e.g. 'mape<25' (repeatable; recorded with the author)", collect)
    .option('--author <who>', 'who starts it', process.env.USER || 'cli')
    .option('--description <text>', 'what the release changes')
    .action((o) => commands.rollout().rolloutStart({ ...o, ...(o.allAtOnce ? { cohorts: false } : {}) }));
  rollout
    .command('status')
    .argument('<release>')
    .option('--json', 'raw JSON')
    .action((release, o) => commands.rollout().rolloutStatus(release, o));
  rollout
    .command('approve')
    .argument('<release>')
    .requiredOption('--role <role>', 'sign-off role, e.g. product-owner, devops-lead')
    .requiredOption('--by <who>', 'approver (your name on the roster)')
    .requiredOption('--key <file>', 'your private key file (from neuro approvers add --key-out) to sign with')
    .option('--comment <text>', 'comment')
    .action((release, o) => commands.rollout().rolloutApprove(release, o));
  rollout
    .command('claims')
    .description('which unfinished release owns which key in which environment (one at a time per key)')
    .option('--json', 'raw JSON')
    .action((o) => commands.rollout().rolloutClaims(o));
  rollout
    .command('release-claims')
    .description('give back the key claims of a release whose workflow was terminated (refused while it runs)')
    .argument('<release>')
    .action((release) => commands.rollout().rolloutReleaseClaims(release));
  for (const [name, fn] of [
    ['go', 'rolloutGo'],
    ['no-go', 'rolloutNoGo'],
    ['confirm', 'rolloutConfirm'],
    ['promote', 'rolloutPromote'],
    ['rollback', 'rolloutRollback'],
  ] as const) {
    const cmd = rollout
      .command(name)
      .argument('<release>')
      .requiredOption('--by <who>', 'who decides (your name on the roster)')
      .requiredOption('--key <file>', 'your private key file (from neuro approvers add --key-out) to sign with')
      .requiredOption('--reason <text>', 'why');
    if (name === 'go') cmd.option('--accept-inconclusive', 'accept gates that stayed inconclusive (too little data); recorded in the decision');
    cmd.action((release, o) => commands.rollout()[fn](release, o));
  }

  program
    .command('release')
    .description('completed releases')
    .command('revert')
    .description('restore a completed release\'s snapshot (production, then staging) when no later change touched its keys')
    .argument('<release>')
    .requiredOption('--by <who>', 'who reverts')
    .requiredOption('--reason <text>', 'why')
    .action((release, o) => commands.release().releaseRevertCommand(release, o));
  const approvers = program.command('approvers').description('who may sign which sign-off: names, roles, Ed25519 public keys (changes need the admin token)');
  const adminTokenOption = () => new Option('--admin-token <token>', 'the admin token (default: ADMIN_TOKEN)');
  approvers
    .command('add')
    .description('add an approver: makes an Ed25519 key pair, stores the public key, writes the private key to --key-out (mode 600)')
    .requiredOption('--name <name>', 'the approver\'s name (look-alike names of rostered people are refused)')
    .requiredOption('--role <role>', 'a sign-off role, e.g. product-owner, devops-lead, ml-lead, security, on-call (repeatable)', collect)
    .requiredOption('--key-out <file>', 'where to write the private key (PEM); an existing file is never overwritten')
    .addOption(adminTokenOption())
    .option('--by <who>', 'who makes the change (audit)', process.env.USER || 'cli')
    .action((o) => commands.approvers().approversAdd(o));
  approvers
    .command('list')
    .description('the active approvers with roles and key fingerprints')
    .option('--json', 'JSON output')
    .option('--all', 'include removed approvers')
    .action((o) => commands.approvers().approversList(o));
  approvers
    .command('remove')
    .description('remove an approver: their signatures are refused from then on (the entry and its audit stay)')
    .requiredOption('--name <name>', 'the approver\'s name')
    .addOption(adminTokenOption())
    .option('--by <who>', 'who makes the change (audit)', process.env.USER || 'cli')
    .action((o) => commands.approvers().approversRemove(o));

  const report = program
    .command('report')
    .description('write the ops report (HTML charts of the last N days) and a release\'s CHANGELOG_ops and POST_DEPLOYMENT_REPORT')
    .option('--release <tag>', 'release (default: the latest)')
    .option('--out <dir>', 'output folder', '.')
    .addOption(envOption())
    .option('--days <n>', 'days the ops report covers', int('--days'), 14)
    .action((o) => commands.report().reportCommand(o));
  report
    .command('daily')
    .description('print the stored daily snapshot of a day (written by the daily-snapshot schedule)')
    .addOption(envOption())
    .requiredOption('--date <date>', 'the UTC day, YYYY-MM-DD')
    .option('--format <format>', 'md or html', 'md')
    .action((o) => commands.report().reportDailyCommand(o));

  const models = program.command('models').description('what serves each SKU: its model assignment (model or policy, cohort, release), else the environment\'s policy');
  models
    .command('list')
    .description('every SKU (or one) with the model of its latest forecast and where it comes from')
    .addOption(envOption())
    .option('--sku <id>', 'one SKU')
    .option('--json', 'an array of {sku, model, source, cohort, release, since}')
    .action((o) => commands.models().modelsList(o));
  models
    .command('assign')
    .description('serve these SKUs by a model or a policy instead of the environment\'s policy')
    .addOption(envOption())
    .argument('<skus...>')
    .requiredOption('--serves <model|policy>', 'a model (Prophet, CrostonSBA, ...) or a policy (plan, class-best, ...)')
    .option('--cohort <name>', 'cohort the SKUs belong to')
    .option('--by <who>', 'who makes the change', process.env.USER || 'cli')
    .option('--reason <text>', 'why')
    .action((skus, o) => commands.models().modelsAssign(skus, o));
  models
    .command('unassign')
    .description('put these SKUs back on the environment\'s policy')
    .addOption(envOption())
    .argument('<skus...>')
    .option('--by <who>', 'who makes the change', process.env.USER || 'cli')
    .option('--reason <text>', 'why')
    .action((skus, o) => commands.models().modelsUnassign(skus, o));
  models
    .command('history')
    .description('audit trail of assignment changes')
    .addOption(envOption())
    .option('--sku <id>', 'one SKU')
    .option('--limit <n>', 'rows', int('--limit'), 50)
    .action((o) => commands.models().modelsHistory(o));

  program
    .command('stability')
    .description('stability score (0-100, grade) and incidents of an environment over a window, from what PostgreSQL recorded')
    .addOption(envOption())
    .option('--window <duration>', 'rolling window ending now, e.g. 24h, 7d', '7d')
    .option('--json', 'one JSON object: {score, grade, window, components, incidents}')
    .action(async (o) => void (await commands.stability().stabilityCommand(o)));

  program
    .command('doctor')
    .description('check Node, the Temporal CLI and server, PostgreSQL, Redis, schedules and workers; one line each with the fix')
    .option('--json', 'one JSON object')
    .action((o) => commands.doctor().doctorCommand(o));

  program
    .command('traffic')
    .description('replay a realistic query workload (Zipf SKUs, daily peaks) against the API')
    .option('--rate <r>', 'requests per second', num('--rate'), 100)
    .option('--duration <d>', 'seconds', num('--duration'), 30)
    .option('--url <url>', 'API base URL (default: the running neuro dev)')
    .addOption(envOption())
    .action((o) => commands.traffic().trafficCommand(o));

  return program;
}

const isClosedPipe = (err: unknown) => (err as NodeJS.ErrnoException | undefined)?.code === 'EPIPE';

/**
 * A reader that stops early (`neuro rollout status X | head -3`) closes the pipe: end quietly, with
 * the command's exit code so far (0 when it had not failed), as a finished reader asked, instead of
 * an unhandled EPIPE stack trace.
 */
export function endQuietlyOnClosedPipe(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err) => {
      if (isClosedPipe(err)) process.exit();
      throw err;
    });
  }
}

export async function main(argv: string[] = process.argv): Promise<void> {
  endQuietlyOnClosedPipe();
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    if (isClosedPipe(err)) return;
    const e = err as Error;
    process.stderr.write(`${e instanceof NotBuiltError ? e.message : `error: ${e.message}`}\n`);
    process.exitCode = e instanceof NotBuiltError ? 2 : 1;
  }
}

import { openDatabase } from '../services';

export async function migrateCommand(): Promise<void> {
  const db = await openDatabase();
  try {
    console.log(db.description);
    const { applied, alreadyApplied } = db.migrations;
    console.log(`migrations: applied ${applied.length ? applied.join(', ') : 'none'}; already in place ${alreadyApplied.length}`);
  } finally {
    await db.stop();
  }
}

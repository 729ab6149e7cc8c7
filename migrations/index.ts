/**
 * Every migration, in order. Listed statically (rather than read from the folder at run time) so
 * the same list works from TypeScript sources and from the built dist/.
 */
import * as m0001 from './0001_initial.ts';
import * as m0002 from './0002_reconciliation.ts';
import * as m0003 from './0003_touched.ts';
import * as m0004 from './0004_reconciliation_pass.ts';
import * as m0005 from './0005_organizations.ts';
import * as m0006 from './0006_environments.ts';
import * as m0007 from './0007_environment_keys.ts';

export const migrations = {
  '0001_initial': m0001,
  '0002_reconciliation': m0002,
  '0003_touched': m0003,
  '0004_reconciliation_pass': m0004,
  '0005_organizations': m0005,
  '0006_environments': m0006,
  '0007_environment_keys': m0007,
};

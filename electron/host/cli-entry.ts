/** The bundled CLI's entry (dist/cli/hlab.mjs): the same main() the tsx path runs. */
import { main } from './cli.js';

import { exitWhenDone } from './cli-exit.js';

exitWhenDone(await main(process.argv.slice(2), undefined, process.argv[1]));

// Usage: node features.mjs schema.json featurecollection.json — validates
// every feature against a collection's JSON Schema (draft 2019-09) and
// exits non-zero naming the first features that do not conform.
import { readFileSync } from "node:fs";
import Ajv2019 from "ajv/dist/2019.js";
const [schema, fc] = process.argv.slice(2).map((f) => JSON.parse(readFileSync(f, "utf8")));
const ajv = new Ajv2019({ allErrors: true, strict: false, validateFormats: false });
const validate = ajv.compile(schema);
let bad = 0;
for (const f of fc.features) {
  if (!validate(f)) {
    if (bad++ < 5) console.error(`invalid: feature ${f.id}: ${ajv.errorsText(validate.errors)}`);
  }
}
if (bad > 0) process.exit(1);
console.log(`valid: ${fc.features.length} features`);

// Usage: node validate.mjs openapi.json — exits non-zero with the reason
// when the document is not valid OpenAPI 3.
import SwaggerParser from "@apidevtools/swagger-parser";
const file = process.argv[2];
try {
  const api = await SwaggerParser.validate(file);
  console.log(`valid: ${api.info.title}, ${Object.keys(api.paths).length} paths`);
} catch (e) {
  console.error(`invalid: ${e.message}`);
  process.exit(1);
}

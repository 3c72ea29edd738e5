// Validates an RDF document against SHACL shapes with rdf-validate-shacl and
// prints the report as one JSON object:
//   {"conforms":bool,"triples":n,"names":[foaf:name…],"results":[{severity,focus,path,value,message,shape,component}]}
// Usage: node validate.mjs DATA SHAPES_DIR
// DATA is parsed by its extension (.ttl, .rdf, .jsonld). Every *.ttl in
// SHAPES_DIR whose name does not start with "mirror_" is a shapes file; the
// mirror_* vocabularies (FOAF, ORG, vCard) are added to the data graph so
// that sh:class checks see their class hierarchy.
import fs from 'node:fs';
import path from 'node:path';
import { Parser, Store } from 'n3';
import { RdfXmlParser } from 'rdfxml-streaming-parser';
import jsonld from 'jsonld';
import SHACLValidator from 'rdf-validate-shacl';

function parseTurtle(text, base, store) {
  store.addQuads(new Parser({ baseIRI: base }).parse(text));
}

function parseRdfXml(text, base, store) {
  return new Promise((resolve, reject) => {
    const p = new RdfXmlParser({ baseIRI: base });
    p.on('data', (q) => store.addQuad(q));
    p.on('error', reject);
    p.on('end', resolve);
    p.write(text);
    p.end();
  });
}

async function parseJsonLd(text, store) {
  const nquads = await jsonld.toRDF(JSON.parse(text), { format: 'application/n-quads', safe: true });
  store.addQuads(new Parser({ format: 'N-Quads' }).parse(nquads));
}

async function load(file, store) {
  const text = fs.readFileSync(file, 'utf8');
  const base = 'file://' + path.resolve(file);
  switch (path.extname(file)) {
    case '.ttl': return parseTurtle(text, base, store);
    case '.rdf': return parseRdfXml(text, base, store);
    case '.jsonld': return parseJsonLd(text, store);
  }
  throw new Error(`unknown RDF format of ${file}`);
}

const [dataFile, shapesDir] = process.argv.slice(2);
if (!dataFile || !shapesDir) {
  console.error('usage: node validate.mjs DATA SHAPES_DIR');
  process.exit(2);
}
const data = new Store();
await load(dataFile, data);
const triples = data.size;
const names = data.getQuads(null, 'http://xmlns.com/foaf/0.1/name', null, null).map((q) => q.object.value);
const shapes = new Store();
for (const f of fs.readdirSync(shapesDir).sort()) {
  const file = path.join(shapesDir, f);
  if (f.startsWith('mirror_')) await load(file, data);
  else if (f.endsWith('.ttl')) await load(file, shapes);
}
const report = await new SHACLValidator(shapes).validate(data);
const v = (t) => (t ? t.value : null);
console.log(JSON.stringify({
  conforms: report.conforms,
  triples,
  names: [...new Set(names)],
  results: report.results.map((r) => ({
    severity: v(r.severity),
    focus: v(r.focusNode),
    path: v(r.path),
    value: v(r.value),
    message: r.message.map((m) => m.value).join(' / '),
    shape: v(r.sourceShape),
    component: v(r.sourceConstraintComponent),
  })),
}));

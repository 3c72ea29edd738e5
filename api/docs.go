package api

import "net/http"

// docsPage renders /api/v1/openapi.json in the browser without any
// third-party script: the page works offline and inside a city network.
const docsPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Kessel API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:15px/1.5 system-ui,sans-serif;margin:0;color:#1d2733;background:#f6f7f9}
header{background:#1f3a5f;color:#fff;padding:1.2em 2em}header h1{margin:0;font-size:1.5em}
main{max-width:60em;margin:auto;padding:1em 2em}section{background:#fff;border-radius:6px;margin:1em 0;padding:.2em 1em 1em;box-shadow:0 1px 2px #0002}
.op{border-top:1px solid #e3e6ea;padding:.6em 0}.m{display:inline-block;min-width:4.5em;font-weight:700;font-family:monospace}
.get{color:#1a7f37}.post{color:#0a58ca}.put{color:#9a6700}.delete{color:#cf222e}code{background:#eef1f4;padding:0 .25em;border-radius:3px}
.p{font-size:.9em;color:#4a5563;margin:.2em 0 0 5em}.scope{font-size:.8em;background:#fff4d6;border-radius:3px;padding:0 .4em;margin-left:.5em}
</style></head><body>
<header><h1 id="title">Kessel API</h1><div id="subtitle">loading the OpenAPI description…</div></header>
<main><p id="intro"></p><div id="ops"></div>
<p>Machine-readable: <a href="/api/v1/openapi.json">/api/v1/openapi.json</a></p></main>
<script>
fetch('/api/v1/openapi.json').then(r => r.json()).then(doc => {
  document.getElementById('title').textContent = doc.info.title;
  document.getElementById('subtitle').textContent = 'OpenAPI ' + doc.openapi + ', version ' + doc.info.version;
  document.getElementById('intro').textContent = doc.info.description;
  const byTag = {};
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      (byTag[op.tags[0]] = byTag[op.tags[0]] || []).push({path, method, op});
    }
  }
  const root = document.getElementById('ops');
  for (const tag of doc.tags.map(t => t.name)) {
    const sec = document.createElement('section');
    sec.innerHTML = '<h2></h2>';
    sec.querySelector('h2').textContent = tag;
    for (const {path, method, op} of (byTag[tag] || []).sort((a, b) => a.path.localeCompare(b.path))) {
      const div = document.createElement('div');
      div.className = 'op';
      div.dataset.op = method.toUpperCase() + ' ' + path;
      div.innerHTML = '<span class="m"></span><code></code> <span class="s"></span><div class="p"></div>';
      div.querySelector('.m').textContent = method.toUpperCase();
      div.querySelector('.m').classList.add(method);
      div.querySelector('code').textContent = path;
      div.querySelector('.s').textContent = op.summary;
      if (op.security && !op.security.some(r => Object.keys(r).length === 0)) { // a key required
        const s = document.createElement('span'); s.className = 'scope'; s.textContent = 'key: ' + (op['x-kessel-scope'] || 'any'); div.querySelector('.s').after(s);
      }
      const params = (op.parameters || []).map(p => p.$ref ? doc.components.parameters[p.$ref.split('/').pop()] : p);
      div.querySelector('.p').textContent = op.description + (params.length ? ' Parameters: ' + params.map(p => p.name).join(', ') + '.' : '');
      sec.appendChild(div);
    }
    root.appendChild(sec);
  }
  document.body.dataset.ready = 'yes';
}).catch(e => { document.getElementById('subtitle').textContent = 'could not load the API description: ' + e; });
</script></body></html>
`

func (s *server) handleDocs() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'unsafe-inline' 'self'; style-src 'unsafe-inline'")
		s.encode(w, r, []byte(docsPage), reply{media: mediaHTML, cache: cacheStatic})
	})
}

// Active public alerts: loaded once, then kept current from the
// Server-Sent Events of /api/v1/alerts/stream, without reloading the page.
import { firingAlerts } from './api.js';

export class Alerts {
  // onChange is called with the Map of firing alerts (id -> alert)
  // whenever it changes.
  constructor(onChange) {
    this.onChange = onChange;
    this.firing = new Map();
    this.index = null; // subject -> alert, built on demand
    this.source = null;
  }

  async start() {
    // Subscribe first, so no change between the list and the stream is lost.
    this.source = new EventSource('/api/v1/alerts/stream');
    this.source.addEventListener('alert', (e) => {
      try {
        this.apply(JSON.parse(e.data));
      } catch {
        // a malformed event changes nothing
      }
    });
    this.source.addEventListener('open', () => this.reload());
  }

  async reload() {
    try {
      const items = await firingAlerts();
      this.firing = new Map(items.filter((a) => a.state === 'firing').map((a) => [a.id, a]));
      this.index = null;
      this.onChange(this.firing);
    } catch {
      // keep what is shown; the stream's reconnect reloads
    }
  }

  apply(a) {
    if (a.state === 'firing') this.firing.set(a.id, a);
    else this.firing.delete(a.id);
    this.index = null;
    this.onChange(this.firing);
  }

  // bySubject returns the firing alert of a device, if any.
  bySubject(id) {
    if (!this.index) this.index = new Map([...this.firing.values()].map((a) => [a.subject, a]));
    return this.index.get(id);
  }

  subjects() {
    return new Set([...this.firing.values()].map((a) => a.subject));
  }
}

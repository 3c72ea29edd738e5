package alert

import (
	"context"

	"github.com/kessel-city/kessel"
)

// deliver persists and publishes transitions off the evaluation path,
// until ctx ends: every state change goes to the Journal, the notified
// ones (firing, resolved) to Options.Notify.
func (e *Engine) deliver(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case a := <-e.notifyQ:
			if e.opts.Journal != nil {
				if err := e.opts.Journal.SaveAlerts(ctx, []kessel.Alert{a}); err != nil {
					e.log.Warn("could not save an alert transition", "alert", a.ID, "err", err)
				}
			}
			if e.opts.Notify != nil && a.Notified() {
				e.opts.Notify(ctx, a)
			}
		}
	}
}

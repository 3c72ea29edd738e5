package alert

import (
	"time"

	"github.com/kessel-city/kessel"
)

// EvaluateForTest runs one evaluation synchronously.
func (e *Engine) EvaluateForTest(rs []kessel.Reading) { e.evaluate(rs) }

// TickForTest runs the silence check at now.
func (e *Engine) TickForTest(now time.Time) { e.tick(now) }

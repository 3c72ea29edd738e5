package alert

import (
	"context"
	"slices"
	"strings"

	"github.com/kessel-city/kessel"
)

// Rules returns the rules in force, sorted by id.
func (e *Engine) Rules() []Rule {
	e.mu.RLock()
	defer e.mu.RUnlock()
	out := make([]Rule, len(e.rules))
	for i, r := range e.rules {
		out[i] = *r
	}
	slices.SortFunc(out, func(a, b Rule) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// Rule returns one rule.
func (e *Engine) Rule(id string) (Rule, bool) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	for _, r := range e.rules {
		if r.ID == id {
			return *r, true
		}
	}
	return Rule{}, false
}

// PutRule adds a rule, or replaces the one with its id (its alerts start
// over). create demands a new id (ECONFLICT otherwise); !create demands an
// existing one (ENOTFOUND). EINVALID names the bad field.
func (e *Engine) PutRule(ctx context.Context, r Rule, create bool) (Rule, error) {
	if err := r.Validate(); err != nil {
		return r, err
	}
	e.mu.Lock()
	i := slices.IndexFunc(e.rules, func(x *Rule) bool { return x.ID == r.ID })
	switch {
	case create && i >= 0:
		e.mu.Unlock()
		return r, kessel.Errorf(kessel.ECONFLICT, "rule %q already exists; change it with PUT", r.ID)
	case !create && i < 0:
		e.mu.Unlock()
		return r, kessel.Errorf(kessel.ENOTFOUND, "rule %q not found", r.ID)
	}
	if i >= 0 {
		e.dropSubjects(r.ID)
		e.rules[i] = &r
	} else {
		e.rules = append(e.rules, &r)
	}
	e.nRules.Store(int32(len(e.rules)))
	e.mu.Unlock()
	return r, e.saveRules(ctx)
}

// DeleteRule removes a rule and its alerts. ENOTFOUND if unknown.
func (e *Engine) DeleteRule(ctx context.Context, id string) error {
	e.mu.Lock()
	i := slices.IndexFunc(e.rules, func(x *Rule) bool { return x.ID == id })
	if i < 0 {
		e.mu.Unlock()
		return kessel.Errorf(kessel.ENOTFOUND, "rule %q not found", id)
	}
	e.rules = slices.Delete(e.rules, i, i+1)
	e.nRules.Store(int32(len(e.rules)))
	e.dropSubjects(id)
	e.mu.Unlock()
	return e.saveRules(ctx)
}

// dropSubjects forgets a rule's alerts; the caller holds mu.
func (e *Engine) dropSubjects(ruleID string) {
	for id, s := range e.subjects {
		if s.rule.ID == ruleID {
			delete(e.subjects, id)
			delete(e.byKey, subjectKey{ruleID, s.device})
		}
	}
}

func (e *Engine) saveRules(ctx context.Context) error {
	if e.opts.RuleStore == nil {
		return nil
	}
	return e.opts.RuleStore.SaveRules(ctx, e.Rules())
}

// WindowRules returns the rules whose condition needs past readings
// (mean, max, min, rate), for refilling on start.
func (e *Engine) WindowRules() []Rule {
	var out []Rule
	for _, r := range e.Rules() {
		if needsWindow(&r) {
			out = append(out, r)
		}
	}
	return out
}

// needsWindow reports whether a rule's condition is over past readings of
// each device (not an area's, which are not stored as such).
func needsWindow(r *Rule) bool {
	return r.Window > 0 && !r.Area && r.Condition != CondThreshold && r.Condition != CondSilence
}

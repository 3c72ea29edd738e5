package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/alert"
)

// startAlerts runs the alert engine (role alerts): its rules, the states
// and window points it had, and its webhooks. The engine sees every stored
// reading; it never slows ingest.
func (a *app) startAlerts(ctx context.Context) (func(context.Context), error) {
	if !a.cfg.has("alerts") {
		return nil, nil
	}
	hooks, err := alert.NewWebhooks(a.cfg.File.Webhooks, alert.WebhookOptions{Logger: a.log, Registerer: a.prom})
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	rules := a.rules(ctx)
	engine, err := alert.New(rules, alert.Options{Logger: a.log, Registerer: a.prom, Journal: a.store, RuleStore: a.store, Exceedances: newExceedanceCounter(a.store), DeviceClass: a.deviceClass,
		Notify: func(ctx context.Context, al kessel.Alert) {
			hooks.Notify(al)
			a.publish(ctx, al)
		}})
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	var states []kessel.Alert
	timeout(ctx, 30*time.Second, func(ctx context.Context) {
		if states, err = a.store.LoadAlerts(ctx, alertsSince(rules, time.Now())); err != nil {
			a.log.Warn("could not restore alert states", "err", err)
		}
	})
	engine.Restore(states)
	refilled := a.refill(ctx, engine)
	a.engine = engine

	hooksCtx, stopHooks := detach(ctx)
	waitHooks := background(func() {
		if err := hooks.Run(hooksCtx); err != nil {
			a.fail(fmt.Errorf("webhooks: %w", err))
		}
	})
	engineCtx, stopEngine := detach(ctx)
	waitEngine := background(func() {
		if err := engine.Run(engineCtx); err != nil {
			a.fail(fmt.Errorf("alerts: %w", err))
		}
	})
	a.log.Info("alert engine running", "rules", len(rules), "restored", len(states), "window_points_refilled", refilled)
	return func(context.Context) {
		stopEngine()
		waitEngine()
		stopHooks()
		waitHooks()
	}, nil
}

// rules returns the rule set last saved through the API, or the config
// file's when none was saved (or they cannot be read).
func (a *app) rules(ctx context.Context) []alert.Rule {
	var saved []kessel.Rule
	var found bool
	var err error
	timeout(ctx, 30*time.Second, func(ctx context.Context) { found, err = a.store.LoadRules(ctx, &saved) })
	switch {
	case err != nil:
		a.log.Warn("could not load rules saved through the API; using the config's", "err", err)
	case found:
		a.log.Info("using the rule set last changed through the API; the config's rules section is the initial set only", "rules", len(saved))
		return saved
	}
	return a.withMaintenanceRule(a.cfg.File.Rules)
}

// refill fills window conditions (a 24-hour mean) from InfluxDB and
// returns how many bucket aggregates it used.
func (a *app) refill(ctx context.Context, engine *alert.Engine) int {
	refilled := 0
	timeout(ctx, 60*time.Second, func(ctx context.Context) {
		var err error
		if refilled, err = engine.RefillFrom(ctx, a.store); err != nil {
			a.log.Warn("could not refill every alert window from InfluxDB", "err", err)
		}
	})
	return refilled
}

// publish sends an alert transition to kessel.AlertTopic(al), once a
// broker connection exists. Every broker mode (embedded, external MQTT,
// NATS) publishes through here: on the public topic, which anyone may
// read, the alert goes without who acknowledged it and their note.
func (a *app) publish(ctx context.Context, al kessel.Alert) {
	pub := a.publishAlert.Load()
	if pub == nil {
		return
	}
	topic, body := alertMessage(al)
	if err := (*pub)(ctx, topic, body); err != nil {
		a.log.Warn("could not publish an alert transition", "alert", al.ID, "err", err)
	}
}

// alertMessage is the topic and payload of an alert transition: the wire
// form, as in the API, redacted on the public topic.
func alertMessage(al kessel.Alert) (topic string, payload []byte) {
	topic = kessel.AlertTopic(al)
	if strings.HasPrefix(topic, kessel.PublicAlertTopicPrefix) {
		al = al.Redacted()
	}
	payload, _ = json.Marshal(al)
	return topic, payload
}

// setPublisher sets how alert transitions go out over MQTT.
func (a *app) setPublisher(pub func(ctx context.Context, topic string, payload []byte) error) {
	a.publishAlert.Store(&pub)
}

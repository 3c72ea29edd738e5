package kessel

// Redacted is the alert as anyone may see it: without who acknowledged it
// (AckedBy) and what they noted (AckNote), which are the department's
// own record. AckedAt stays, so that the public sees that someone is on
// it. The public views of an alert (the API without the alerts:manage
// scope, the SSE stream, kessel/alerts/public/… over MQTT and NATS, the
// citizens' page, the OGC API alert layer) all show this form.
func (a Alert) Redacted() Alert {
	a.AckedBy, a.AckNote = "", ""
	return a
}

package kessel

// UsageCount is how often one API endpoint was asked for one dataset (a
// device kind, or none) on one day (UTC) by one Kessel instance. It holds
// no address, key or other personal data.
type UsageCount struct {
	Day      string `json:"day"` // 2006-01-02
	Endpoint string `json:"endpoint"`
	Dataset  string `json:"dataset,omitempty"`
	Requests int    `json:"requests"`
	Instance string `json:"-"`
}

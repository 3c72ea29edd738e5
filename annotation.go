package kessel

import "strings"

// Measured values and Kessel's annotations share a stored reading. A
// device's field name never contains '.' (ValidFieldName), so every stored
// field whose name does is an annotation Kessel added, named
// "<namespace>.<name>", and never a measured value:
//
//	link.<name>  radio and transport data (Reading.Link): rssi, snr, …
//	qc.<field>   quality flags of a value (reserved for quality control)
//
// Readers put dot-free fields into Reading.Values, "link." fields into
// Reading.Link and leave every other namespace out unless they are asked
// for it, so that annotations never reach means, aggregates, quantity
// lists or rule fields.

// LinkNamespace is the namespace of Reading.Link's stored fields.
const LinkNamespace = "link"

// AnnotationField is the stored name of annotation name in namespace ns.
func AnnotationField(ns, name string) string { return ns + "." + name }

// SplitAnnotation splits a stored field into its namespace and name; ok
// is false for a measured value's field (no '.').
func SplitAnnotation(field string) (ns, name string, ok bool) {
	return strings.Cut(field, ".")
}

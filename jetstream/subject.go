package jetstream

import "strings"

// Subject returns the NATS subject the server's MQTT listener uses for an
// MQTT topic or filter: levels are separated by '.', a '.' inside a level
// becomes "//", and the wildcards '+' and '#' become '*' and '>'. Kessel's
// topics have no empty levels, which is all it converts; an empty level
// is kept as is (the server would encode it differently).
func Subject(topic string) string {
	var b strings.Builder
	b.Grow(len(topic) + 8)
	for i := 0; i < len(topic); i++ {
		switch c := topic[i]; c {
		case '/':
			b.WriteByte('.')
		case '.':
			b.WriteString("//")
		case '+':
			b.WriteByte('*')
		case '#':
			b.WriteByte('>')
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// Topic is the inverse of Subject for a subject without wildcards.
func Topic(subject string) string {
	var b strings.Builder
	b.Grow(len(subject))
	for i := 0; i < len(subject); i++ {
		switch c := subject[i]; {
		case c == '.':
			b.WriteByte('/')
		case c == '/' && i+1 < len(subject) && subject[i+1] == '/':
			b.WriteByte('.')
			i++
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

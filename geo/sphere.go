package geo

import (
	"math"

	"github.com/paulmach/orb"
)

// vec3 is a point on the unit sphere.
type vec3 [3]float64

func unitVector(p orb.Point) vec3 {
	lon, lat := p[0]*math.Pi/180, p[1]*math.Pi/180
	sinLat, cosLat := math.Sincos(lat)
	sinLon, cosLon := math.Sincos(lon)
	return vec3{cosLat * cosLon, cosLat * sinLon, sinLat}
}

// maxChord2 is the squared chord of the unit sphere that spans r metres of
// great circle.
func maxChord2(r float64) float64 {
	a := r / orb.EarthRadius
	if a >= math.Pi {
		return 4 // the whole sphere
	}
	c := 2 * math.Sin(a/2)
	return c * c
}

// chordToMetres turns a squared unit chord into great-circle metres. Below
// a chord of 2e-3 (12.7 km) it uses asin's series, whose first omitted term
// is 5e-14 of the result, instead of math.Asin.
func chordToMetres(c2 float64) float64 {
	x := math.Sqrt(c2) / 2
	if x < 1e-3 {
		x2 := x * x
		return 2 * orb.EarthRadius * x * (1 + x2*(1.0/6+x2*(3.0/40)))
	}
	return 2 * orb.EarthRadius * math.Asin(math.Min(x, 1))
}

// Distance is the great-circle distance in metres between two WGS84
// points on a sphere of orb.EarthRadius: the haversine distance, computed
// through the chord between unit vectors. At city scale it differs from
// the WGS84 ellipsoid's geodesic by at most 0.5 %.
func Distance(a, b orb.Point) float64 {
	u, v := unitVector(a), unitVector(b)
	dx, dy, dz := u[0]-v[0], u[1]-v[1], u[2]-v[2]
	return chordToMetres(dx*dx + dy*dy + dz*dz)
}

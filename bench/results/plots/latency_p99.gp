# Written by bench/run.mjs. Regenerate the PNG in this directory: gnuplot latency_p99.gp
set encoding utf8
if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
  set terminal pngcairo size 960,540 font "sans,11"
} else {
  set terminal png size 960,540
}
set output "latency_p99.png"
set title "p99 delivery latency (median, bars: min-max)"
set ylabel "ms (log)"
set datafile missing "?"
set style data histogram
set style histogram errorbars gap 1 lw 1
set style fill solid 0.75 border -1
set boxwidth 0.9
set key top left
set grid ytics
set xtics nomirror
set logscale y
plot "latency_p99.dat" using 2:3:4:xtic(1) title "roomcast", \
     "" using 5:6:7 title "socketio", \
     "" using 8:9:10 title "ceiling", \
     "" using 11:12:13 title "roomcast-postgres"

# S6, sourced by bench/run: one turn against a store of S6_SMALL and of S6_BIG sessions.
scenario_s6() {
  note "S6 not measured: not written yet"
}

/* Written by StateTableTests from TreatmentStateTable (Sources/RFGenCore/TreatmentStateTable.swift
   and StateTableModel.swift); do not edit by hand. spin checks it in the test command. */

#define P_idle 0
#define P_impedance_check 1
#define P_ramp 2
#define P_hold 3
#define P_done 4
#define P_stopped 5
#define P_faulted 6
#define T_start 0
#define T_impedance_accepted 1
#define T_band_reached 2
#define T_hold_complete 3
#define T_stop 4
#define T_alarm 5
#define T_acknowledge 6

#ifdef HOME_FROM
#define PROPERTY(c) skip
#define HOME assert(phase != P_idle)
byte phase = HOME_FROM;
#else
#define PROPERTY(c) assert(c)
#define HOME skip
byte phase = P_idle;
#endif

byte from;       /* the phase before the last move */
bool started;    /* an accepted start since the treatment last rested */
bool checked;    /* a passed impedance check since then */
bool latched;    /* an alarm latched and not yet acknowledged */
bool cleared;    /* the alarms' conditions have cleared (the environment's choice) */
bool rf;         /* RF commanded on */

inline move(to, trigger) {
    from = phase;
    phase = to;
    if :: trigger == T_start -> started = true :: else -> skip fi;
    if :: trigger == T_impedance_accepted -> checked = true :: else -> skip fi;
    if :: trigger == T_alarm -> latched = true :: else -> skip fi;
    if :: trigger == T_acknowledge -> latched = false :: else -> skip fi;
    rf = (phase == P_ramp || phase == P_hold);
    if :: !(phase == P_impedance_check || phase == P_ramp || phase == P_hold) -> started = false; checked = false :: else -> skip fi;
    PROPERTY(!rf || (started && checked));
    PROPERTY(trigger != T_alarm || (phase == P_faulted && !rf && latched));
    PROPERTY(trigger != T_acknowledge || (from == P_faulted && cleared));
    PROPERTY(latched == (phase == P_faulted));
    HOME
}

active proctype treatment() {
#ifdef HOME_FROM
    latched = (phase == P_faulted);
#endif
    do
    :: atomic { phase == P_idle -> move(P_impedance_check, T_start) }  /* start */
    :: atomic { phase == P_done -> move(P_impedance_check, T_start) }  /* start */
    :: atomic { phase == P_stopped -> move(P_impedance_check, T_start) }  /* start */
    :: atomic { phase == P_impedance_check -> move(P_ramp, T_impedance_accepted) }  /* impedance_accepted */
    :: atomic { phase == P_ramp -> move(P_hold, T_band_reached) }  /* band_reached */
    :: atomic { phase == P_hold -> move(P_done, T_hold_complete) }  /* hold_complete */
    :: atomic { phase == P_impedance_check -> move(P_stopped, T_stop) }  /* stop */
    :: atomic { phase == P_ramp -> move(P_stopped, T_stop) }  /* stop */
    :: atomic { phase == P_hold -> move(P_stopped, T_stop) }  /* stop */
    :: atomic { phase == P_impedance_check -> move(P_faulted, T_alarm) }  /* alarm */
    :: atomic { phase == P_ramp -> move(P_faulted, T_alarm) }  /* alarm */
    :: atomic { phase == P_hold -> move(P_faulted, T_alarm) }  /* alarm */
    :: atomic { phase == P_idle -> move(P_faulted, T_alarm) }  /* alarm */
    :: atomic { phase == P_done -> move(P_faulted, T_alarm) }  /* alarm */
    :: atomic { phase == P_stopped -> move(P_faulted, T_alarm) }  /* alarm */
    :: atomic { phase == P_faulted -> move(P_faulted, T_alarm) }  /* alarm */
    :: atomic { phase == P_faulted && cleared -> move(P_idle, T_acknowledge) }  /* acknowledge */
    :: cleared = true   /* the conditions clear */
    :: cleared = false  /* or come back */
    od
}

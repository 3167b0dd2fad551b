; pit-1khz.asm -- 600 timer interrupts from channel 0 in mode 2 (rate generator) at 1 kHz:
; 0.6 s of `sti; hlt`.
PIT_MODE  equ 2
PIT_COUNT equ 1193              ; 1193182 / 1193 = 1000.15 Hz
TICKS     equ 600
%include "pit-rate.inc"

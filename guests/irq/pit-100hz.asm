; pit-100hz.asm -- 60 timer interrupts from channel 0 in mode 3 (square wave) at 100 Hz:
; 0.6 s of `sti; hlt`.
PIT_MODE  equ 3
PIT_COUNT equ 11932             ; 1193182 / 11932 = 99.998 Hz
TICKS     equ 60
%include "pit-rate.inc"

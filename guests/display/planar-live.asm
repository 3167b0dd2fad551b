; planar-live.asm -- planar.asm's mode 12h picture, and then the guest stays (idle in hlt)
; instead of exiting, for the live display to show it until Ctrl-a x.
%define LIVE
%include "bios/planar.asm"

{{/*
Kubernetes quantities as exact fractions of int64s, for the few places where rayctl does arithmetic on them
(rayctl/quantity.py parse_quantity: cores for CPU, bytes for memory; its grammar, ParseQuantity's). Sprig's
add/mul/div are int64: this is exact while the numbers stay below 2^63 (every realistic pod size does) and fails,
naming the quantity, where they would not. ParseQuantity's rounding up to 1n never changes what the callers
compute (ceilings of whole millicores / MiB / units; the floor of whole bytes).

  include "rayservice.quantity" (dict "q" "1.5Gi" "out" $out)  ->  $out.num / $out.den (1610612736 / 1)
*/}}
{{- define "rayservice.quantity" -}}
{{- $re := "^[+]?([0-9]*)(?:\\.([0-9]*))?(?:[eE]([+-]?[0-9]+)|([numkMGTPE]|[KMGTPE]i))?$" -}}
{{- if or (not (regexMatch $re .q)) (not (regexMatch "[0-9]" (regexReplaceAll "[eE].*$" .q ""))) -}}
  {{- fail (printf "'%s' is not a Kubernetes quantity (examples: 4, 500m, 16Gi)" .q) -}}
{{- end -}}
{{- $frac := regexReplaceAll "0+$" (regexReplaceAll $re .q "${2}") "" -}}
{{- $digits := regexReplaceAll "^0+" (printf "%s%s" (regexReplaceAll $re .q "${1}") $frac) "" -}}
{{- $exp := regexReplaceAll $re .q "${3}" -}}
{{- $suffix := regexReplaceAll $re .q "${4}" -}}
{{- $big := printf "the chart computes with int64: '%s' is too large or too precise for it (write it with fewer digits, or use a suffix)" .q -}}
{{- if gt (len $digits) 18 -}}{{- fail $big -}}{{- end -}}
{{- $num := atoi (default "0" $digits) | int64 -}}
{{- $scale := sub 0 (len $frac) | int64 -}}
{{- $decimal := dict "n" -9 "u" -6 "m" -3 "k" 3 "M" 6 "G" 9 "T" 12 "P" 15 "E" 18 -}}
{{- $binary := dict "Ki" 10 "Mi" 20 "Gi" 30 "Ti" 40 "Pi" 50 "Ei" 60 -}}
{{- if $exp -}}
  {{- $scale = add $scale (atoi (trimPrefix "+" $exp)) -}}
{{- else if hasKey $decimal $suffix -}}
  {{- $scale = add $scale (index $decimal $suffix) -}}
{{- end -}}
{{- $den := 1 | int64 -}}
{{- if eq $num 0 -}}
  {{- $scale = 0 -}}
{{- end -}}
{{- if gt $scale 18 -}}{{- fail $big -}}{{- end -}}
{{- if lt $scale -12 -}}{{- fail $big -}}{{- end -}}
{{- range until (int (ternary $scale (sub 0 $scale) (gt $scale 0))) -}}
  {{- if gt $scale 0 -}}
    {{- if gt $num 922337203685477580 -}}{{- fail $big -}}{{- end -}}
    {{- $num = mul $num 10 -}}
  {{- else -}}
    {{- $den = mul $den 10 -}}
  {{- end -}}
{{- end -}}
{{- if hasKey $binary $suffix -}}
  {{- range until (int (index $binary $suffix)) -}}
    {{- if gt $num 4611686018427387903 -}}{{- fail $big -}}{{- end -}}
    {{- $num = mul $num 2 -}}
  {{- end -}}
{{- end -}}
{{- $_ := set .out "num" $num -}}
{{- $_ = set .out "den" $den -}}
{{- end -}}

{{/* ceil(a / b) and floor(a / b) for a >= 0, b > 0 (int64). */}}
{{- define "rayservice.ceilDiv" -}}
{{- div (sub (add (index . 0) (index . 1)) 1) (index . 1) -}}
{{- end -}}

{{/* CPU in millicores, rounded up (rayctl/profiles.py _millis). Prints the number. */}}
{{- define "rayservice.millicores" -}}
{{- $q := dict -}}
{{- $_ := include "rayservice.quantity" (dict "q" . "out" $q) -}}
{{- if gt $q.num 9223372036854775 -}}{{- fail (printf "the chart computes with int64: '%s' is too large for it" .) -}}{{- end -}}
{{- include "rayservice.ceilDiv" (list (mul $q.num 1000) $q.den) -}}
{{- end -}}

{{/* Memory in whole MiB, rounded up (rayctl/profiles.py _mebibytes). Prints the number. */}}
{{- define "rayservice.mebibytes" -}}
{{- $q := dict -}}
{{- $_ := include "rayservice.quantity" (dict "q" . "out" $q) -}}
{{- include "rayservice.ceilDiv" (list $q.num (mul $q.den 1048576)) -}}
{{- end -}}

{{/* ceil(quantity) and int(quantity): whole cores / bytes. Print the number. */}}
{{- define "rayservice.quantityCeil" -}}
{{- $q := dict -}}
{{- $_ := include "rayservice.quantity" (dict "q" . "out" $q) -}}
{{- include "rayservice.ceilDiv" (list $q.num $q.den) -}}
{{- end -}}

{{- define "rayservice.quantityFloor" -}}
{{- $q := dict -}}
{{- $_ := include "rayservice.quantity" (dict "q" . "out" $q) -}}
{{- div $q.num $q.den -}}
{{- end -}}

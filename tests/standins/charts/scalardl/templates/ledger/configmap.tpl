{{- /* ledger.properties.tmpl: rendered into ledger.properties by the container's entrypoint. */}}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "scalardl.fullname" . }}-ledger-properties
  namespace: {{ .Release.Namespace }}
data:
  ledger.properties.tmpl:
    {{- .Values.ledger.ledgerProperties | toYaml | nindent 4 }}

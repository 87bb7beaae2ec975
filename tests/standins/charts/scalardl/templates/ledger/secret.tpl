{{- if not .Values.ledger.existingSecret }}
{{- $cfg := .Values.ledger.scalarLedgerConfiguration }}
apiVersion: v1
kind: Secret
metadata:
  name: {{ include "scalardl.dbSecretName" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "scalardl.labels" . | nindent 4 }}
type: Opaque
data:
  db-username: {{ $cfg.dbUsername | toString | b64enc | quote }}
  db-password: {{ $cfg.dbPassword | toString | b64enc | quote }}
{{- end }}

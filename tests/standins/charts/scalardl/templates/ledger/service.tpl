{{- $v := .Values.ledger }}
{{- if not .Values.envoy.enabled }}
{{- /* Without Envoy the client-facing ports are exposed directly. */}}
apiVersion: v1
kind: Service
metadata:
  name: {{ include "scalardl.fullname" . }}-endpoint
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "scalardl.labels" . | nindent 4 }}
  {{- with $v.service.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  type: {{ $v.service.type }}
  sessionAffinity: None
  ports:
    {{- range $name, $port := $v.service.ports }}
    {{- if has $name (list "scalardl" "scalardl-priv") }}
    - name: {{ $name }}
      {{- toYaml $port | nindent 6 }}
    {{- end }}
    {{- end }}
  selector:
    {{- include "scalardl.selectorLabels" . | nindent 4 }}
---
{{- end }}
{{- /* Scalar Admin for Kubernetes finds the admin port through this Service's named port. */}}
apiVersion: v1
kind: Service
metadata:
  name: {{ include "scalardl.fullname" . }}-headless
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "scalardl.labels" . | nindent 4 }}
spec:
  type: ClusterIP
  clusterIP: None
  sessionAffinity: None
  ports:
    {{- range $name, $port := $v.service.ports }}
    - name: {{ $name }}
      {{- toYaml $port | nindent 6 }}
    {{- end }}
  selector:
    {{- include "scalardl.selectorLabels" . | nindent 4 }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ include "scalardl.fullname" . }}-metrics
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "scalardl.labels" . | nindent 4 }}
spec:
  type: ClusterIP
  ports:
    - name: scalardl-prometheus
      port: 8080
      targetPort: 8080
      protocol: TCP
  selector:
    {{- include "scalardl.selectorLabels" . | nindent 4 }}

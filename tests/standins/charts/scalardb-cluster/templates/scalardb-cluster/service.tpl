{{- $v := .Values.scalardbCluster }}
{{- if not .Values.envoy.enabled }}
apiVersion: v1
kind: Service
metadata:
  name: {{ include "scalardb-cluster.fullname" . }}-endpoint
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "scalardb-cluster.labels" . | nindent 4 }}
  {{- with $v.service.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  type: {{ $v.service.type }}
  sessionAffinity: None
  ports:
    {{- range $name, $port := $v.service.ports }}
    - name: {{ $name }}
      {{- toYaml $port | nindent 6 }}
    {{- end }}
  selector:
    {{- include "scalardb-cluster.selectorLabels" . | nindent 4 }}
---
{{- end }}
{{- /* Membership and Scalar Admin for Kubernetes both use this Service (admin port = API port 60053). */}}
apiVersion: v1
kind: Service
metadata:
  name: {{ include "scalardb-cluster.fullname" . }}-headless
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "scalardb-cluster.labels" . | nindent 4 }}
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
    {{- include "scalardb-cluster.selectorLabels" . | nindent 4 }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ include "scalardb-cluster.fullname" . }}-metrics
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "scalardb-cluster.labels" . | nindent 4 }}
spec:
  type: ClusterIP
  ports:
    - name: scalardb-cluster-prometheus
      port: 9080
      targetPort: 9080
      protocol: TCP
  selector:
    {{- include "scalardb-cluster.selectorLabels" . | nindent 4 }}

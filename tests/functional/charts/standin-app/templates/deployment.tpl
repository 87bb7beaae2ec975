apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "standin-app.fullname" . }}
  labels:
    {{- include "standin-app.labels" . | nindent 4 }}
spec:
  replicas: {{ .Values.replicaCount }}
  selector:
    matchLabels:
      {{- include "standin-app.selector" . | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "standin-app.selector" . | nindent 8 }}
      annotations:
        checksum/config: {{ include (print $.Template.BasePath "/configmap.tpl") . | sha256sum }}
        {{- with .Values.podAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    spec:
      containers:
        - name: app
          image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
          command: ["sh", "-c", "sleep 2147483647"]
          ports:
            - name: http
              containerPort: 8080
            - name: admin
              containerPort: 50053
          envFrom:
            - secretRef:
                name: {{ include "standin-app.fullname" . }}
          volumeMounts:
            - name: config
              mountPath: /conf
      volumes:
        - name: config
          configMap:
            name: {{ include "standin-app.fullname" . }}

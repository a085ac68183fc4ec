#!/bin/sh
# Creates a per-project URL token for the Jenkins Notification plugin.
# Prints the URL to store as a Jenkins "Secret text" credential (it contains the token) and the line to
# put under the project in releases.yml (only the sha256 of the token; the bot never stores the token).
# Usage: deploy/jenkins/new-notification-token.sh <project> <bot base URL>
set -eu
if [ $# -ne 2 ]; then
  echo "usage: $0 <project> <bot base URL, e.g. https://release.example.com>" >&2
  exit 64
fi
project=$1
base=${2%/}
token=$(openssl rand -hex 32)
digest=$(printf %s "$token" | sha256sum | cut -d' ' -f1)
echo "Jenkins credential (Secret text) for $project's Notification endpoint:"
echo "  $base/webhooks/jenkins/$token"
echo "releases.yml, under projects.$project:"
echo "  notification_token_sha256: $digest"

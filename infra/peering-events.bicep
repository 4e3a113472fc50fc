// Optional: seconds instead of minutes. Subscription events reach the peeringEvents function through
// one Event Grid system topic per subscription (there is none at management-group scope), so this
// deploys a topic and its event subscription into each listed subscription. Without it, the
// peeringChanges timer still alerts within minutes from Resource Graph's change feed.
//
// Deploy it AFTER publishing the app (README, "Deployment", the Event Grid step): an event
// subscription to an AzureFunction endpoint is validated against the function, and before the
// publish there is none ("Destination endpoint not found", https://github.com/Azure/bicep/issues/11656).
// The deployer needs write access on the function app as well as on the topics: Event Grid checks it
// for handlers that are not webhooks (https://learn.microsoft.com/azure/event-grid/security-authorization,
// "Authorizing access to the event handler"). Rerun it after the app's resource group was deleted
// and deployed again: the event subscriptions still point at the app that was deleted.
//
//   az deployment mg create --name "cross-tenant-scanner-events-$LOCATION" --management-group-id "$MG" \
//     --location "$LOCATION" --template-file infra/peering-events.bicep \
//     --parameters functionAppId="$APP_ID" subscriptionIds="$EVENT_SUBSCRIPTIONS" resourceGroupName="$EVENT_RESOURCE_GROUP"
//
// The subscriptions must be under that management group (a management-group deployment reaches
// only those). A subscription that already has its system topic (Event Grid allows one per source)
// is listed in existingTopics, e.g. existingTopics='{"<sub>": {"resourceGroup": "<rg>", "name": "<topic>"}}':
// only the event subscription is added to that topic.
targetScope = 'managementGroup'

@description('Subscriptions whose VNet and peering writes and deletes should reach the scanner within seconds.')
param subscriptionIds array

@description('An existing resource group in each of those subscriptions that holds its system topic.')
param resourceGroupName string

@description('Resource id of the scanner\'s function app (output functionAppId of main.bicep).')
param functionAppId string

@description('Subscriptions that already have a system topic: subscription id to { resourceGroup, name } of that topic.')
param existingTopics object = {}

module topics 'peering-events-topic.bicep' = [
  for subscriptionId in subscriptionIds: {
    name: 'peering-events-${uniqueString(subscriptionId)}'
    scope: resourceGroup(subscriptionId, contains(existingTopics, subscriptionId) ? existingTopics[subscriptionId].resourceGroup : resourceGroupName)
    params: {
      functionAppId: functionAppId
      existingTopicName: contains(existingTopics, subscriptionId) ? existingTopics[subscriptionId].name : ''
    }
  }
]

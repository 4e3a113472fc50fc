targetScope = 'subscription'

param name string
param location string

resource group 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: name
  location: location
}

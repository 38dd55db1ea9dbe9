export { generateDataset } from './generate.js'
export { distanceMetres } from './geography.js'
export { Rng, type DatasetOptions, type Dataset, type DatasetUser, type DatasetInstitution, type GeoPoint, type PlantedPair, type PlantedNearMiss, type RawEntry } from './model.js'

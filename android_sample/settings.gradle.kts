// keras-sr Android sample: `app` (Kotlin, LiteRT CompiledModel) over `core` (plain Java 17, no Android
// imports, tested on the JVM by core/run-tests). Open this folder in Android Studio.
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}
dependencyResolutionManagement {
    repositoriesMode.set(RepositoriesMode.FAIL_ON_PROJECT_REPOS)
    repositories {
        google()
        mavenCentral()
    }
}
rootProject.name = "keras-sr-android"
include(":app", ":core")

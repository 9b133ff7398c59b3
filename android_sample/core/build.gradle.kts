// The plain-Java core as a Gradle module for the app. Its tests need golden data from keras-sr
// (core/golden.py) and, for the real model, libLiteRt.so: core/run-tests runs them without Gradle.
// Under Gradle: ./gradlew :core:test -Pkerassr.golden=DIR [-Pkerassr.litert=.../libLiteRt.so]
plugins {
    `java-library`
}

java {
    sourceCompatibility = JavaVersion.VERSION_17
    targetCompatibility = JavaVersion.VERSION_17
}

dependencies {
    testImplementation(libs.junit)
    testImplementation(libs.jna)
}

tasks.test {
    listOf("kerassr.golden", "kerassr.litert").forEach { key ->
        project.findProperty(key)?.let { systemProperty(key, it.toString()) }
    }
}
